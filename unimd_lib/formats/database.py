"""The ``{"database": {video_id: {...}}}`` annotation layout (ActivityNet / Ego4D MQ+NLQ / Charades(-STA)).

``read_database`` turns a file into two flat tables without applying any policy (no clipping, no
de-duplication, no subset filtering): those belong to the dataset builders and to each evaluator.
Times stay in seconds. Only the structure is validated; every error names the file and the video.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from unimd_lib.errors import DataError
from unimd_lib.formats.files import read_json

# per-annotation fields copied when present (MQ: label/label_id; NLQ: query/annotation_uid/annotation_idx;
# Charades-STA: label holds the sentence)
_OPTIONAL_FIELDS = ("label", "label_id", "query", "annotation_uid", "annotation_idx")
VIDEO_COLUMNS = ("video_id", "subset", "duration", "fps", "num_annotations")
ANNOTATION_COLUMNS = ("video_id", "index", "t_start", "t_end", *_OPTIONAL_FIELDS)


@dataclass
class AnnotationTable:
    """``videos``: one row per video (``video_id, subset, duration, fps, num_annotations``; NaN / "" where absent).
    ``annotations``: one row per annotation in file order (``video_id, index`` = position in the video's list,
    ``t_start, t_end`` seconds (NaN without ``segment``), plus ``label, label_id, query, annotation_uid,
    annotation_idx`` where the file has them)."""

    path: str
    videos: pd.DataFrame
    annotations: pd.DataFrame

    def subset(self, *names: str) -> AnnotationTable:
        """Videos whose ``subset`` equals one of ``names`` (case-insensitive, as the original evaluators)."""
        wanted = {n.lower() for n in names}
        keep = self.videos["subset"].str.lower().isin(wanted)
        videos = self.videos[keep].reset_index(drop=True)
        annotations = self.annotations[self.annotations["video_id"].isin(set(videos["video_id"]))]
        return AnnotationTable(self.path, videos, annotations.reset_index(drop=True))


def _number(path: str, item: str, value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DataError(path, item, f"{what} must be a number, got {value!r}")
    return float(value)


def _segment(path: str, item: str, seg) -> tuple[float, float]:
    if not isinstance(seg, (list, tuple)) or len(seg) != 2:
        raise DataError(path, item, f"'segment' must be [start, end] in seconds, got {seg!r}")
    return _number(path, item, seg[0], "segment start"), _number(path, item, seg[1], "segment end")


def parse_database(obj: dict, path: str | os.PathLike) -> AnnotationTable:
    """Flatten an already-loaded database dict (see ``read_database``)."""
    path = str(path)
    if not isinstance(obj, dict) or not isinstance(obj.get("database"), dict):
        raise DataError(path, None, "expected a JSON object with a 'database' mapping of video ids")
    videos, rows = [], []
    for vid, entry in obj["database"].items():
        item = f"video {vid}"
        if not isinstance(entry, dict):
            raise DataError(path, item, "video entry must be an object")
        annos = entry.get("annotations", [])
        if not isinstance(annos, list):
            raise DataError(path, item, "'annotations' must be a list")
        duration = entry.get("duration")
        fps = entry.get("fps")
        videos.append(
            (
                str(vid),
                str(entry.get("subset", "")),
                math.nan if duration is None else _number(path, item, duration, "duration"),
                math.nan if fps in (None, "") else _number(path, item, fps, "fps"),
                len(annos),
            )
        )
        for i, anno in enumerate(annos):
            a_item = f"video {vid}, annotation {i}"
            if not isinstance(anno, dict):
                raise DataError(path, a_item, "annotation must be an object")
            start, end = _segment(path, a_item, anno["segment"]) if "segment" in anno else (math.nan, math.nan)
            rows.append((str(vid), i, start, end, *(anno.get(f) for f in _OPTIONAL_FIELDS)))
    vdf = pd.DataFrame(videos, columns=list(VIDEO_COLUMNS))
    adf = pd.DataFrame(rows, columns=list(ANNOTATION_COLUMNS))
    adf["index"] = adf["index"].astype(np.int64)
    adf["t_start"] = adf["t_start"].astype(np.float64)
    adf["t_end"] = adf["t_end"].astype(np.float64)
    present = [f for f in _OPTIONAL_FIELDS if adf[f].notna().any()]
    adf = adf[["video_id", "index", "t_start", "t_end", *present]]
    if "label_id" in adf and all(isinstance(v, int) and not isinstance(v, bool) for v in adf["label_id"]):
        adf["label_id"] = adf["label_id"].astype(np.int64)  # else left as read, for the caller to report
    return AnnotationTable(path, vdf, adf)


def read_database(path: str | os.PathLike) -> AnnotationTable:
    """Read a database-layout annotation JSON (plain or ``.gz``) into an ``AnnotationTable``."""
    return parse_database(read_json(path), path)
