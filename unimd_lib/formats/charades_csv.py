"""The official Charades CSV (``Charades_v1_{train,test}.csv``).

``actions`` holds ``"cNNN start end;..."`` in seconds and ``length`` the video length in seconds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from unimd_lib.errors import DataError

REQUIRED = ("id", "actions", "length")


@dataclass
class CharadesTable:
    """``videos``: ``video_id, length`` (seconds), in file order. ``actions``: ``video_id, label`` ("cNNN"),
    ``label_id`` (NNN), ``t_start, t_end`` (seconds), in file order."""

    path: str
    videos: pd.DataFrame
    actions: pd.DataFrame


def read_charades_csv(path: str | os.PathLike) -> CharadesTable:
    p = Path(path)
    if not p.exists():
        raise DataError(p, None, "file not found")
    try:
        df = pd.read_csv(p, dtype={"id": str, "actions": str}, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise DataError(p, None, f"malformed CSV: {err}") from None
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise DataError(p, None, f"missing column(s) {missing}; expected the official Charades CSV header")
    if df["id"].duplicated().any():
        dup = df.loc[df["id"].duplicated(), "id"].iloc[0]
        raise DataError(p, f"video {dup}", "video id listed twice")
    try:
        lengths = df["length"].astype(np.float64)
    except ValueError:
        bad = next(i for i, v in zip(df["id"], df["length"]) if not _is_float(v))
        raise DataError(p, f"video {bad}", "'length' is not a number") from None
    rows = []
    for vid, actions in zip(df["id"], df["actions"]):
        for j, chunk in enumerate(a for a in actions.split(";") if a.strip()):
            parts = chunk.split()
            if len(parts) != 3 or not parts[0].startswith("c") or not parts[0][1:].isdigit():
                raise DataError(p, f"video {vid}, action {j}", f"expected 'cNNN start end', got {chunk!r}")
            try:
                start, end = float(parts[1]), float(parts[2])
            except ValueError:
                raise DataError(p, f"video {vid}, action {j}", f"non-numeric time in {chunk!r}") from None
            rows.append((vid, parts[0], int(parts[0][1:]), start, end))
    videos = pd.DataFrame({"video_id": df["id"].astype(str), "length": lengths})
    actions = pd.DataFrame(rows, columns=["video_id", "label", "label_id", "t_start", "t_end"])
    actions["label_id"] = actions["label_id"].astype(np.int64)
    return CharadesTable(str(p), videos, actions)


def _is_float(v) -> bool:
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False
