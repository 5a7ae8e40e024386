"""Data roots in the presets' layout holding only the real annotation files of ../shared/annotations (no
features, no text embeddings), linked rather than copied. Where a preset names a file that ../shared lacks, the
derived stand-in is linked under the preset's name (said per benchmark below)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import shared_path

PRESETS = {"ego4d": "ego4d", "charades": "charades_i3d", "anet": "anet"}

# preset path under data/ → file under ../shared/annotations
FILES = {
    "ego4d": {
        "ego4d/mq/clip_annotations_not_filter.json": "ego4d/mq/clip_annotations_not_filter.json",
        "ego4d/mq/clip_annotations_test_no_gt.json": "ego4d/mq/clip_annotations_test_no_gt.json",
        "ego4d/nlq/clip_annotations_not_filter.json": "ego4d/nlq/clip_annotations_not_filter.json",
        "ego4d/nlq/clip_annotations_test_no_gt.json": "ego4d/nlq/clip_annotations_test_no_gt.json",
        "ego4d/nlq/nlq_val.json": "ego4d/nlq/nlq_val.json",
    },
    # no Charades_v1_train.csv nor Charades-STA file in ../shared: Test split only, STA = the constructed file
    "charades": {
        "charades/Charades_v1_test.csv": "charades/Charades_v1_test.csv",
        "charades/charades_sta_test.json": "derived/charades_sta_constructed_public.json",
    },
    # no anet1.3_tsp_filtered.json nor train_modified.json: the derived ANet-1.3 file (validation + 100 training
    # videos) stands in for the first; ActivityNet-Captions has its two validation files
    "anet": {
        "anet/anet-1.3/anet1.3_tsp_filtered.json": "derived/anet13_val_derived.json",
        "anet/captiondata/val_1.json": "anet/captiondata/val_1.json",
        "anet/captiondata/val_2.json": "anet/captiondata/val_2.json",
    },
}


def annotations_only_root(tmp: Path, benchmark: str) -> Path:
    """``tmp`` laid out as ``data/<benchmark>/...`` with the annotation files only; returns ``tmp``."""
    for dest, src in FILES[benchmark].items():
        target = tmp / "data" / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.symlink_to(shared_path("annotations", *Path(src).parts).resolve())
    return tmp
