"""Raw per-segment prediction tables (CSV, plain or ``.gz``) and the ANet external class-score file.

Kinds and columns (extra columns are ignored):

=========== =====================================================================================
kind        columns
=========== =====================================================================================
detection   ``video_id, t_start, t_end, label, score``          (TAD; label = ``label_id``)
sta         ``video_id, query_index, t_start, t_end, score``    (Charades-STA; index in the video)
captions    ``video_id, sentence_index, t_start, t_end, score`` (ANet-Captions; ``v_`` ids)
nlq         ``clip_uid, query_index, t_start, t_end, score``    (Ego4D NLQ raw; index in the clip)
=========== =====================================================================================

Dtypes: ids are strings; indices/labels int64; times **float32** (the model emits float32 seconds, and the
float32 code paths, e.g. Charades-STA IoU, need them); scores float64, which holds float32 scores exactly and
also keeps fused float64 scores (ANet external-score fusion) intact.
Bad input raises ``DataError`` naming the file and the line (header = line 1): missing columns, non-numeric
or non-finite times/scores, non-integer labels/indices, empty ids. A header-only or 0-byte file is a valid
*empty* prediction set (each protocol documents what "no predictions" scores).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from unimd_lib.errors import DataError
from unimd_lib.formats.files import atomic_path, read_json

ID, INT, TIME, SCORE = "id", "int", "time", "score"
KINDS: dict[str, tuple[tuple[str, str], ...]] = {
    "detection": (("video_id", ID), ("t_start", TIME), ("t_end", TIME), ("label", INT), ("score", SCORE)),
    "sta": (("video_id", ID), ("query_index", INT), ("t_start", TIME), ("t_end", TIME), ("score", SCORE)),
    "captions": (("video_id", ID), ("sentence_index", INT), ("t_start", TIME), ("t_end", TIME), ("score", SCORE)),
    "nlq": (("clip_uid", ID), ("query_index", INT), ("t_start", TIME), ("t_end", TIME), ("score", SCORE)),
}
_DTYPES = {ID: "str", INT: np.int64, TIME: np.float32, SCORE: np.float64}
# accepted in place of a missing column: what ``unimd predict`` writes for every MR benchmark
ALIASES = {"clip_uid": "video_id", "sentence_index": "query_index", "query_index": "sentence_index"}


def columns(kind: str) -> list[str]:
    return [c for c, _ in _schema(kind)]


def _schema(kind: str) -> tuple[tuple[str, str], ...]:
    if kind not in KINDS:
        raise ValueError(f"unknown prediction kind {kind!r}; expected one of {sorted(KINDS)}")
    return KINDS[kind]


def empty_predictions(kind: str) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=_DTYPES[t]) for c, t in _schema(kind)})


def _line(df: pd.DataFrame, pos: int) -> str:
    return f"line {pos + 2}"  # header is line 1


def _item(df: pd.DataFrame, pos: int, id_col: str) -> str:
    return f"{_line(df, pos)} ({id_col} {df[id_col].iloc[pos]})"


def validate_predictions(df: pd.DataFrame, kind: str, source: str | os.PathLike | None = None) -> pd.DataFrame:
    """Check and convert a prediction table (from a file or built in memory) to the kind's columns and dtypes.

    ``source`` names the file in error messages (``None`` for in-memory tables; rows are then reported by
    position as if they came from a CSV with a header).
    """
    schema = _schema(kind)
    for col, alias in ALIASES.items():  # a run's MR table (video_id, query_index) serves every MR kind
        if col in (c for c, _ in schema) and col not in df.columns and alias in df.columns:
            df = df.rename(columns={alias: col})
    missing = [c for c, _ in schema if c not in df.columns]
    if missing:
        raise DataError(source, None, f"missing column(s) {missing}; {kind} predictions need {columns(kind)}")
    id_col = schema[0][0]
    out = {}
    for col, typ in schema:
        s = df[col]
        if typ == ID:
            s = s.astype("str")
            bad = s.isna() | (s.str.strip() == "")
            if bad.any():
                raise DataError(source, _line(df, int(np.argmax(bad.to_numpy()))), f"empty {col}")
            out[col] = s.reset_index(drop=True)
            continue
        values = pd.to_numeric(s, errors="coerce").to_numpy(np.float64)
        finite = np.isfinite(values)
        if not finite.all():
            pos = int(np.argmin(finite))
            raw = str(s.iloc[pos])
            what = "is not a number" if pd.isna(values[pos]) else "is not finite"
            raise DataError(source, _item(df, pos, id_col), f"{col} {raw!r} {what}")
        if typ == INT:
            if (values != np.floor(values)).any():
                pos = int(np.argmax(values != np.floor(values)))
                raise DataError(source, _item(df, pos, id_col), f"{col} {str(s.iloc[pos])!r} is not an integer")
            out[col] = values.astype(np.int64)
        elif typ == TIME:
            with np.errstate(over="ignore"):
                t32 = values.astype(np.float32)
            if not np.isfinite(t32).all():
                pos = int(np.argmin(np.isfinite(t32)))
                raise DataError(source, _item(df, pos, id_col), f"{col} {str(s.iloc[pos])!r} overflows float32")
            out[col] = t32
        else:
            out[col] = values
    return pd.DataFrame(out)


def read_predictions(path: str | os.PathLike, kind: str) -> pd.DataFrame:
    """Read a prediction CSV of ``kind`` (see the module docstring)."""
    p = Path(path)
    if not p.exists():
        raise DataError(p, None, "file not found")
    schema = _schema(kind)
    if p.stat().st_size == 0:
        return empty_predictions(kind)
    fast = {c: (str if t == ID else np.float64) for c, t in schema}
    try:  # fast path: numbers parsed by the C reader
        df = pd.read_csv(p, dtype=fast, keep_default_na=False, na_values=[""])
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as err:
        if isinstance(err, pd.errors.EmptyDataError):
            return empty_predictions(kind)
        try:  # slow path: everything as text, so the bad cell can be named
            df = pd.read_csv(p, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, UnicodeDecodeError) as err2:
            raise DataError(p, None, f"malformed CSV: {err2}") from None
    return validate_predictions(df, kind, p)


def _as_float64(df: pd.DataFrame) -> pd.DataFrame:
    """float32 times written as the float64 of their value (``repr`` round-trips exactly, like the refcases)."""
    return df.assign(**{c: df[c].astype(np.float64) for c in df.columns if df[c].dtype == np.float32})


def write_predictions(df: pd.DataFrame, path: str | os.PathLike, kind: str) -> None:
    """Write a validated prediction table as CSV (atomic; ``.gz`` compresses)."""
    df = validate_predictions(df, kind)
    with atomic_path(path) as tmp:
        comp = "gzip" if str(path).endswith(".gz") else None
        _as_float64(df).to_csv(tmp, index=False, compression=comp)


def read_class_scores(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """External per-video class scores ``{"results": {video_id: [class probabilities]}}`` (JSON or JSON.gz)."""
    obj = read_json(path)
    if not isinstance(obj, dict) or not isinstance(obj.get("results"), dict):
        raise DataError(path, None, "expected {'results': {video_id: [class scores]}}")
    out = {}
    for vid, scores in obj["results"].items():
        try:
            arr = np.asarray(scores, dtype=np.float64) if isinstance(scores, list) else None
        except (TypeError, ValueError):
            arr = None
        if arr is None or arr.ndim != 1 or len(arr) == 0 or not np.isfinite(arr).all():
            raise DataError(path, f"video {vid}", "class scores must be a non-empty list of finite numbers")
        out[str(vid)] = arr
    return out
