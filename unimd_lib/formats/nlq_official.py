"""The official Ego4D NLQ annotation file (``nlq_val.json``): videos → clips → annotations → language queries.

Flattened to one row per language query, keyed by ``(clip_uid, annotation_uid, query_idx)`` as the official
evaluator does; the GT window is ``[clip_start_sec, clip_end_sec]`` of the query.
"""

from __future__ import annotations

import os

import pandas as pd

from unimd_lib.errors import DataError
from unimd_lib.formats.files import read_json

COLUMNS = ("video_uid", "clip_uid", "annotation_uid", "query_idx", "t_start", "t_end", "query")


def read_nlq_official(path: str | os.PathLike) -> pd.DataFrame:
    obj = read_json(path)
    if not isinstance(obj, dict) or not isinstance(obj.get("videos"), list):
        raise DataError(path, None, "expected the official Ego4D NLQ layout with a 'videos' list")
    rows = []
    for video in obj["videos"]:
        for clip in video.get("clips", []):
            for anno in clip.get("annotations", []):
                for qi, q in enumerate(anno.get("language_queries", [])):
                    item = f"clip {clip.get('clip_uid')}, annotation {anno.get('annotation_uid')}, query {qi}"
                    if "clip_start_sec" not in q or "clip_end_sec" not in q:
                        raise DataError(path, item, "language query without clip_start_sec/clip_end_sec")
                    rows.append(
                        (
                            video.get("video_uid"),
                            clip["clip_uid"],
                            anno["annotation_uid"],
                            qi,
                            float(q["clip_start_sec"]),
                            float(q["clip_end_sec"]),
                            q.get("query"),
                        )
                    )
    return pd.DataFrame(rows, columns=list(COLUMNS))
