"""Many videos → one feature folder: ``<video_id>.npy`` [T, C] float32, ``manifest.json`` (recipe, encoder,
weights sha256, per video the alignment check) and ``failures.csv`` (``video_id,file,reason``).

Resumable: a video whose features and record exist is skipped. Every file is written atomically, and each
video's record lands in ``.extract/`` beside its features, so processes extracting disjoint shards of the list
(``torchrun``) never write the same file; ``finalize`` gathers the records into the manifest.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from unimd_lib.errors import ConfigError, DataError
from unimd_lib.formats.arrays import write_npy_atomic
from unimd_lib.formats.files import read_json, write_json_atomic, write_text_atomic
from unimd_lib.video.encoders import Encoder
from unimd_lib.video.extract import extract_video
from unimd_lib.video.recipe import Recipe

VIDEO_SUFFIXES = frozenset(
    [
        ".mp4",
        ".m4v",
        ".mkv",
        ".webm",
        ".avi",
        ".mov",
        ".mpg",
        ".mpeg",
        ".ts",
        ".mts",
        ".m2ts",
        ".flv",
        ".wmv",
        ".3gp",
        ".ogv",
        ".vob",
        ".mxf",
        ".gif",
    ]
)
LIST_SUFFIXES = frozenset({".txt", ".lst", ".list"})
STATE = ".extract"


def list_videos(source: str | os.PathLike) -> list[tuple[str, Path]]:
    """(video_id, file) pairs, sorted by id, from a folder (files with a video suffix), a list file (one path a
    line, relative to the list; ``#`` comments) or one video file. The id is the file name without suffix."""
    src = Path(source)
    if src.is_dir():
        files = [p for p in sorted(src.iterdir()) if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES]
    elif src.suffix.lower() in LIST_SUFFIXES and src.is_file():
        lines = [ln.strip() for ln in src.read_text(encoding="utf-8").splitlines()]
        files = [(src.parent / ln) for ln in lines if ln and not ln.startswith("#")]
    elif src.exists():
        files = [src]
    else:
        raise DataError(src, None, "input not found (a folder, a list file or a video file)")
    seen: dict[str, Path] = {}
    for f in files:
        if f.stem in seen:
            raise DataError(f, f.stem, f"video id also used by {seen[f.stem]}: ids (file stems) must be unique")
        seen[f.stem] = f
    return sorted(seen.items())


def shard(items: list, rank: int, world_size: int) -> list:
    """Process ``rank``'s share of the video list (round robin: lengths balance on sorted lists)."""
    return items[rank::world_size]


@dataclass
class Summary:
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _setup(recipe: Recipe, encoder: Encoder) -> dict:
    return {"recipe": recipe.to_dict(), "encoder": encoder.describe()}


def check_setup(out_dir: Path, recipe: Recipe, encoder: Encoder) -> None:
    """Refuse to mix recipes or encoders in one folder; record the setup on first use."""
    path = out_dir / STATE / "setup.json"
    setup = _setup(recipe, encoder)
    if path.exists():
        old = read_json(path)
        # the encoder is its name and its weights' content: a moved weights file is still the same encoder
        enc_keys = ("name", "weights_sha256")
        same = {
            "recipe": old.get("recipe") == setup["recipe"],
            "encoder": all(old.get("encoder", {}).get(k) == setup["encoder"][k] for k in enc_keys),
        }
        for key, ok in same.items():
            if not ok:
                raise ConfigError(path, key, f"{out_dir} holds features of another {key}: {old.get(key)}")
        return
    write_json_atomic(path, setup)


def extract_many(
    videos: list[tuple[str, Path]],
    out_dir: str | os.PathLike,
    recipe: Recipe,
    encoder: Encoder,
    *,
    device: str = "cpu",
    batch_size: int = 32,
    tolerance: int = 1,
    progress: bool = True,
) -> Summary:
    """Extract ``videos`` into ``out_dir`` (skipping those already done); bad videos become failure records."""
    import av

    out = Path(out_dir)
    check_setup(out, recipe, encoder)
    summary = Summary()
    for vid, path in tqdm(videos, desc="videos", unit="video", disable=not progress):
        record, fail = out / STATE / "videos" / f"{vid}.json", out / STATE / "failures" / f"{vid}.json"
        if record.exists() and (out / f"{vid}.npy").exists():
            summary.skipped.append(vid)
            continue
        try:
            feats, entry = extract_video(
                path, recipe, encoder, device=device, batch_size=batch_size, tolerance=tolerance, progress=progress
            )
        except (DataError, av.error.FFmpegError) as err:
            write_json_atomic(fail, {"video_id": vid, "file": str(path), "reason": str(err)})
            summary.failed.append(vid)
            continue
        write_npy_atomic(out / f"{vid}.npy", feats)
        write_json_atomic(record, {"file": str(path), **entry})
        fail.unlink(missing_ok=True)
        summary.done.append(vid)
    return summary


def finalize(out_dir: str | os.PathLike) -> dict:
    """Gather the per-video records into ``manifest.json`` and ``failures.csv`` (both rewritten atomically)."""
    out = Path(out_dir)
    setup = read_json(out / STATE / "setup.json")
    videos = {p.stem: read_json(p) for p in sorted((out / STATE / "videos").glob("*.json"))}
    failures = [read_json(p) for p in sorted((out / STATE / "failures").glob("*.json"))]
    dims = sorted({v["C"] for v in videos.values()})
    manifest = {
        **setup,
        "feature_dim": dims[0] if len(dims) == 1 else dims,
        "grid": {"fps": setup["recipe"]["fps"], "feat_stride": setup["recipe"]["stride"],
                 "num_frames": setup["recipe"]["num_frames"]},
        "videos": videos,
        "failures": len(failures),
    }  # fmt: skip
    write_json_atomic(out / "manifest.json", manifest)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["video_id", "file", "reason"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(failures)
    write_text_atomic(out / "failures.csv", buf.getvalue())
    return manifest


def read_manifest(out_dir: str | os.PathLike) -> dict:
    return json.loads((Path(out_dir) / "manifest.json").read_text(encoding="utf-8"))
