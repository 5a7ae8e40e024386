"""ActivityNet-Captions JSON: ``{video_id: {"duration", "timestamps": [[s, e], ...], "sentences": [...]}}``.

Flattened to one row per sentence (``index`` = position = the sentence index used by predictions);
times in seconds, unmodified (reversed pairs and ends beyond the duration are kept as in the file).
"""

from __future__ import annotations

import os

import pandas as pd

from unimd_lib.errors import DataError
from unimd_lib.formats.files import read_json

COLUMNS = ("video_id", "index", "t_start", "t_end", "sentence", "duration")


def parse_captions(obj: dict, path: str | os.PathLike) -> pd.DataFrame:
    path = str(path)
    if not isinstance(obj, dict) or "database" in obj:
        raise DataError(path, None, "expected an ActivityNet-Captions mapping {video_id: {timestamps, sentences}}")
    rows = []
    for vid, entry in obj.items():
        item = f"video {vid}"
        if not isinstance(entry, dict) or "timestamps" not in entry or "sentences" not in entry:
            raise DataError(path, item, "entry must hold 'timestamps' and 'sentences'")
        stamps, sents = entry["timestamps"], entry["sentences"]
        if len(stamps) != len(sents):
            raise DataError(path, item, f"{len(stamps)} timestamps but {len(sents)} sentences")
        duration = entry.get("duration")
        if duration is None:
            raise DataError(path, item, "missing 'duration'")
        for i, (ts, sent) in enumerate(zip(stamps, sents)):
            if not isinstance(ts, (list, tuple)) or len(ts) != 2:
                raise DataError(path, f"{item}, sentence {i}", f"timestamp must be [start, end], got {ts!r}")
            rows.append((str(vid), i, float(ts[0]), float(ts[1]), str(sent), float(duration)))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def read_captions(path: str | os.PathLike) -> pd.DataFrame:
    """Read an ActivityNet-Captions file (``val_1.json``, ``val_2.json``, train) into a sentence table."""
    return parse_captions(read_json(path), path)
