"""Ground truth for the ANETdetection-style mAP (ActivityNet-1.3, Ego4D-MQ, Charades segment mAP).

What the original evaluator does to its annotation file before scoring (METRICS.md §1), reproduced here:
* keep videos whose ``subset`` equals the split, case-insensitively (``split=None`` keeps all);
* de-duplicate per video, in file order (tol 1e-3): drop an event shorter than tol, and drop an event whose
  start and end are both within tol (``<=``) of an already *kept* event with the same ``label_id``;
* re-index classes: column ``i`` = the i-th smallest ``label_id`` that has GT left in the split.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from unimd_lib.errors import DataError
from unimd_lib.formats.database import AnnotationTable, read_database

DEDUP_TOL = 1e-3


@dataclass(frozen=True)
class DetectionGroundTruth:
    """One row per GT instance (after split filter and de-duplication), in file order.

    ``label`` is the class column (0..C-1); ``class_label_ids[label]`` is the original ``label_id``.
    """

    name: str
    video_id: np.ndarray  # object (str)
    t_start: np.ndarray  # float64, seconds
    t_end: np.ndarray  # float64, seconds
    label_id: np.ndarray  # int64, as in the file
    label: np.ndarray  # int64 class column
    class_label_ids: np.ndarray  # int64, sorted

    @property
    def num_classes(self) -> int:
        return len(self.class_label_ids)

    def __len__(self) -> int:
        return len(self.t_start)


def remove_duplicate_annotations(ann: pd.DataFrame, tol: float = DEDUP_TOL) -> pd.DataFrame:
    """Rows of ``ann`` (``video_id, t_start, t_end, label_id`` in file order) that the original keeps.

    Vectorised screen first: only (video, label_id) groups with a candidate near-duplicate pair are replayed
    with the original's sequential rule ("within tol of an already kept event"), which is not transitive.
    """
    ann = ann[~((ann["t_end"] - ann["t_start"]) < tol)]
    if ann.empty:
        return ann
    key = ann[["video_id", "label_id"]].reset_index(names="_row")
    multi = key[key.duplicated(["video_id", "label_id"], keep=False)]
    if multi.empty:
        return ann
    pairs = multi.merge(multi, on=["video_id", "label_id"], suffixes=("", "_b"))
    pairs = pairs[pairs["_row"] < pairs["_row_b"]]
    s, e = ann["t_start"], ann["t_end"]
    a, b = pairs["_row"].to_numpy(), pairs["_row_b"].to_numpy()
    close = (np.abs(s.loc[a].to_numpy() - s.loc[b].to_numpy()) <= tol) & (
        np.abs(e.loc[a].to_numpy() - e.loc[b].to_numpy()) <= tol
    )
    if not close.any():
        return ann
    drop = []
    suspects = pairs.loc[close, ["video_id", "label_id"]].drop_duplicates()
    for vid, lab in suspects.itertuples(index=False):  # a handful of groups: the original's exact rule
        rows = key.loc[(key["video_id"] == vid) & (key["label_id"] == lab), "_row"].to_numpy()
        kept: list[tuple[float, float]] = []
        for r in rows:
            rs, re_ = float(s.loc[r]), float(e.loc[r])
            if any(abs(rs - ks) <= tol and abs(re_ - ke) <= tol for ks, ke in kept):
                drop.append(r)
            else:
                kept.append((rs, re_))
    return ann.drop(index=drop)


def detection_ground_truth(table: AnnotationTable, split: str | None) -> DetectionGroundTruth:
    """Prepare a database-layout annotation table the way ANETdetection does."""
    sub = table.subset(split) if split is not None else table
    ann = sub.annotations
    if "label_id" not in ann.columns or ann["label_id"].isna().any():
        raise DataError(table.path, None, "every annotation needs an integer 'label_id' for detection mAP")
    if ann["t_start"].isna().any():
        vid = ann.loc[ann["t_start"].isna(), "video_id"].iloc[0]
        raise DataError(table.path, f"video {vid}", "annotation without 'segment'")
    ann = ann[["video_id", "t_start", "t_end", "label_id"]].reset_index(drop=True)
    ann = remove_duplicate_annotations(ann).reset_index(drop=True)
    if ann.empty:
        where = f"split {split!r}" if split is not None else "the file"
        raise DataError(table.path, None, f"no ground-truth segments in {where}")
    label_id = ann["label_id"].to_numpy(np.int64)
    class_ids = np.unique(label_id)
    return DetectionGroundTruth(
        name=Path(table.path).name.removesuffix(".gz").removesuffix(".json"),
        video_id=ann["video_id"].to_numpy(object),
        t_start=ann["t_start"].to_numpy(np.float64),
        t_end=ann["t_end"].to_numpy(np.float64),
        label_id=label_id,
        label=np.searchsorted(class_ids, label_id).astype(np.int64),
        class_label_ids=class_ids,
    )


def read_detection_ground_truth(path: str | os.PathLike, split: str | None) -> DetectionGroundTruth:
    return detection_ground_truth(read_database(path), split)
