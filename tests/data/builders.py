"""Small on-disk benchmarks for data-layer tests: annotation jsons, feature and embedding files in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from unimd_lib.config.data import DataConfig
from unimd_lib.formats.arrays import write_npy_atomic, write_npz_atomic
from unimd_lib.formats.embeddings import query_text_key

C, E, K = 8, 6, 3  # feature width, text width, classes


def video(subset: str, duration: float, annotations: list[dict], fps: float | None = 30.0) -> dict:
    out = {"subset": subset, "duration": duration, "annotations": annotations}
    if fps is not None:
        out["fps"] = fps
    return out


def mq(start: float, end: float, label_id: int, label: str | None = None) -> dict:
    return {"label": label or f"action{label_id}", "segment": [start, end], "label_id": label_id}


def nlq(start: float, end: float, query: str, idx: int = 0, uid: str = "ann-1") -> dict:
    return {"query": query, "segment": [start, end], "annotation_uid": uid, "annotation_idx": idx}


def write_json(path: Path, obj) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))
    return path


def steps_for(duration: float, fps: float = 30.0, stride: int = 16) -> int:
    return max(int(duration * fps / stride), 1)


def features(tmp: Path, vid: str, steps: int, dim: int = C, seed: int = 0, folder: str = "feats") -> Path:
    rng = np.random.default_rng([seed, steps])
    path = tmp / folder / f"{vid}.npy"
    write_npy_atomic(path, rng.standard_normal((steps, dim)).astype(np.float32) + 0.1)
    return path


def query_npz(tmp: Path, vid: str, texts: list[str], rule: str = "ego4d", dim: int = E, name: str | None = None):
    rng = np.random.default_rng(len(texts))
    path = tmp / "mr_emb" / (name or f"{vid}.npz")
    stored = np.array([query_text_key(t, rule) for t in texts]) if texts else np.zeros(0, dtype="<U1")
    write_npz_atomic(path, {"features": rng.standard_normal((len(texts), dim)).astype(np.float32), "queries": stored})
    return path


def class_npz(tmp: Path, k: int = K, dim: int = E, transposed: bool = False) -> Path:
    rng = np.random.default_rng(k)
    e = rng.standard_normal((k, dim)) + 0.5
    path = tmp / "classes.npz"
    write_npz_atomic(path, {"features": e.T if transposed else e})
    return path


def ego4d_bench(tmp: Path, tad: dict | None, mr: dict | None, write_files: bool = True, **data) -> DataConfig:
    """An Ego4D-style benchmark with one feature file per video (T from the duration) and MR npz files."""
    cfg: dict = {
        "adapter": "ego4d",
        "feat_folder": "feats",
        "input_dim": C,
        "text_dim": E,
        "feat_stride": 16,
        "num_frames": 16,
        "max_seq_len": 64,
    }
    if tad is not None:
        write_json(tmp / "tad.json", {"version": "t", "database": tad})
        class_npz(tmp)
        cfg["tad"] = {"annotations": "tad.json", "num_classes": K, "class_embeddings": "classes.npz"}
    if mr is not None:
        write_json(tmp / "mr.json", {"version": "t", "database": mr})
        cfg["mr"] = {"annotations": "mr.json", "embedding_folder": "mr_emb"}
    if write_files:
        for db in (tad or {}, mr or {}):
            for vid, v in db.items():
                features(tmp, vid, steps_for(v["duration"]))
        for vid, v in (mr or {}).items():
            query_npz(tmp, vid, [a["query"] for a in v["annotations"] if "query" in a])
    cfg.update(data)
    return DataConfig.from_dict(cfg, tmp / "config.yaml", base_dir=tmp)
