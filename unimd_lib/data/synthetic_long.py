"""Multi-hour videos for the synthetic benchmark (``unimd make-synthetic --long``): validation videos that
carry both tasks, laid end to end (cycling, with background between them) until each long video reaches its
length, each placed so that one of its moments is centred on a window border of sliding-window inference
(alternately a window's first step and the cut between two windows' owned ranges), with the default window
``max_seq_len`` and stride ``max_seq_len / 2``. They go into the same files under the split ``long``.

Built from the written benchmark files (not from the generator's internals), so any generator version works.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import yaml

from unimd_lib.formats.arrays import load_array, load_npz, write_npy_atomic, write_npz_atomic
from unimd_lib.formats.files import read_json, write_json_atomic, write_text_atomic
from unimd_lib.formats.grid import Grid

SPLIT = "long"


def border_positions(length: int, window: int, stride: int) -> np.ndarray:
    """Window starts (k·stride) and owned-range cuts (k·stride + (window + stride) / 2), sorted."""
    starts = np.arange(0, length, stride, dtype=np.float64)
    return np.sort(np.concatenate([starts[1:], starts + (window + stride) / 2]))


def _pieces(root: Path, tad: dict, mr: dict, split: str) -> list[dict]:
    vids = sorted(v for v, x in tad["database"].items() if x["subset"] == split and v in mr["database"])
    out = []
    for vid in vids:
        emb = load_npz(root / "mr_embeddings" / f"{vid}.npz", vid, ("features", "queries"))
        out.append({"vid": vid, "feats": load_array(root / "features" / f"{vid}.npy", vid),
                    "tad": tad["database"][vid], "mr": mr["database"][vid], **emb})  # fmt: skip
    if not out:
        raise ValueError(f"{root}: no {split} video carries both tasks; cannot build long videos")
    return out


def _shift(annos: list[dict], seconds: float, fps: float) -> list[dict]:
    out = []
    for a in annos:
        seg = [round(a["segment"][0] + seconds, 3), round(a["segment"][1] + seconds, 3)]
        out.append({**a, "segment": seg, "segment(frames)": [round(seg[0] * fps), round(seg[1] * fps)]})
    return out


def _long_video(rng, pieces, length, borders, grid: Grid, background) -> tuple[np.ndarray, list, list, dict]:
    feats, tad, mr_annos, queries, embs = [], [], [], [], []
    pos, turn = 0, 0
    for piece in (pieces[i % len(pieces)] for i in rng.permutation(10 * len(pieces) * (1 + length // 2000))):
        seg = np.asarray(piece["tad"]["annotations"][0]["segment"], np.float64)
        centre = float(grid.to_grid(seg).mean())
        candidates = borders[(borders - centre >= pos + 4) & (np.arange(borders.size) % 2 == turn % 2)]
        n = piece["feats"].shape[0]
        if candidates.size == 0 or round(candidates[0] - centre) + n > length:
            break
        offset = round(candidates[0] - centre)
        feats.append(background(offset - pos))
        feats.append(piece["feats"])
        seconds = offset * grid.feat_stride / grid.fps
        tad += _shift(piece["tad"]["annotations"], seconds, grid.fps)
        for a, q, e in zip(_shift(piece["mr"]["annotations"], seconds, grid.fps), piece["queries"], piece["features"]):
            if str(q) not in queries:  # one moment per sentence, as in NLQ: later repeats are left out
                mr_annos.append(a)
                queries.append(str(q))
                embs.append(e)
        pos, turn = offset + n, turn + 1
    feats.append(background(length - pos))
    for k, a in enumerate(mr_annos):
        a.update(label_id=k, annotation_idx=k)
    return np.concatenate(feats).astype(np.float32), tad, mr_annos, {"features": np.stack(embs),
                                                                      "queries": np.array(queries)}  # fmt: skip


def generate_long(
    root: str | os.PathLike, *, hours: tuple[float, ...] = (2.0, 2.5, 3.0), seed: int = 0, source_split="validation"
) -> list[str]:
    """Add long videos (one per entry of ``hours``) to the synthetic benchmark in ``root``; returns their ids."""
    root = Path(root)
    cfg = yaml.safe_load((root / "config.yaml").read_text())
    data = cfg["data"]
    grid = Grid(30.0, float(data["feat_stride"]), float(data["num_frames"]))
    window = int(data["max_seq_len"])
    tad, mr = read_json(root / "tad.json"), read_json(root / "mr.json")
    pieces = _pieces(root, tad, mr, source_split)
    rng = np.random.default_rng(seed)
    allf = np.concatenate([p["feats"] for p in pieces])
    mean, std = allf.mean(axis=0), allf.std(axis=0)

    def background(n: int) -> np.ndarray:
        return (mean + std * rng.standard_normal((max(n, 0), mean.size))).astype(np.float32)

    ids = []
    for i, h in enumerate(hours):
        vid = f"long{i:03d}"
        length = int(round(h * 3600 * grid.fps / grid.feat_stride))
        borders = border_positions(length, window, window // 2)
        feats, tad_annos, mr_annos, emb = _long_video(rng, pieces, length, borders, grid, background)
        duration = round(length * grid.feat_stride / grid.fps, 2)
        head = {"subset": SPLIT, "duration": duration, "fps": grid.fps}
        write_npy_atomic(root / "features" / f"{vid}.npy", feats)
        write_npz_atomic(root / "mr_embeddings" / f"{vid}.npz", emb)
        tad["database"][vid] = {**head, "annotations": tad_annos}
        mr["database"][vid] = {**head, "annotations": [{**a, "annotation_uid": f"{vid}-ann"} for a in mr_annos]}
        ids.append(vid)
    write_json_atomic(root / "tad.json", tad)
    write_json_atomic(root / "mr.json", mr)
    for task, name in (("tad", "tad.json"), ("mr", "mr.json")):
        data[task]["annotations"][SPLIT] = name
    text = "# written by `unimd make-synthetic`; paths relative to this file\n" + yaml.safe_dump(cfg, sort_keys=False)
    write_text_atomic(root / "config.yaml", text)
    return ids
