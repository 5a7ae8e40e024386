"""Submission formats and the converters from raw per-query predictions (``formats/predictions.py``).

* Ego4D NLQ: ``{"version": "1.0", "challenge": "ego4d_nlq_challenge", "results": [{clip_uid, annotation_uid,
  query_idx, predicted_times: [[s, e], ...]}]}``: one entry per query of the split's clips of the NLQ clip JSON,
  in file order, ``query_idx`` = the query's ``annotation_idx``, top 5 windows by score (Python's stable sort,
  so equal scores keep input order), ``[]`` for a query without predictions.
* ActivityNet-Captions: ``{"results": {"<video_id>-<sentence_index>": {video_id, anno_id, timestamp}}}``, top 5
  by score (stable).
* Charades per-frame scores: text lines ``<id> <frame 0..24> <157 scores>``, scores written with ``str(float)``.
All writers are atomic (``.gz`` paths are gzip-compressed); JSON is written as ``json.dumps`` writes it.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
from typing import Any

import numpy as np
import pandas as pd

from unimd_lib.errors import DataError
from unimd_lib.formats.database import AnnotationTable
from unimd_lib.formats.files import atomic_path, open_text, read_json

NLQ_TOP_K = CAPTIONS_TOP_K = 5


def ranked_top_k(keys: pd.DataFrame, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(row indices, rank) of the ``k`` best rows per key, descending score, equal scores in input order
    (Python's ``sorted(..., reverse=True)`` is stable); rows come grouped by key in first-appearance order."""
    codes = keys.groupby(list(keys.columns), sort=False).ngroup().to_numpy()
    order = np.lexsort((-np.asarray(scores, dtype=np.float64), codes))  # stable
    codes = codes[order]
    rank = np.arange(len(order)) - np.searchsorted(codes, codes)
    keep = rank < k
    return order[keep], rank[keep]


def _write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        if str(path).endswith(".gz"):
            with gzip.open(tmp, "wt", encoding="utf-8") as fh:
                fh.write(text)
        else:
            tmp.write_text(text, encoding="utf-8")


def write_submission_json(obj: Any, path: str | os.PathLike) -> None:
    _write_text(path, json.dumps(obj))


def _pairs(t_start: np.ndarray, t_end: np.ndarray) -> list[list[float]]:
    return np.stack([t_start.astype(np.float64), t_end.astype(np.float64)], axis=1).tolist()


# ---------------------------------------------------------------------------------------------- Ego4D NLQ
def nlq_submission(raw: pd.DataFrame, clips: AnnotationTable, split: str = "validation", top_k: int = NLQ_TOP_K):
    """Official NLQ submission from raw predictions (``clip_uid, query_index, t_start, t_end, score``; the query
    index is the position in the clip's ``annotations`` list) and the NLQ clip JSON table."""
    queries = clips.subset(split).annotations if split is not None else clips.annotations
    for col in ("annotation_uid", "annotation_idx"):
        if col not in queries.columns:
            raise DataError(clips.path, None, f"NLQ clip annotations need '{col}'")
    rows, rank = ranked_top_k(raw[["clip_uid", "query_index"]], raw["score"].to_numpy(), top_k)
    q_index = pd.MultiIndex.from_arrays([queries["video_id"].astype(str), queries["index"].to_numpy(np.int64)])
    q = q_index.get_indexer(
        pd.MultiIndex.from_arrays(
            [raw["clip_uid"].astype(str).to_numpy()[rows], raw["query_index"].to_numpy(np.int64)[rows]]
        )
    )
    if (q < 0).any():
        print(
            f"nlq export: {int((q < 0).sum())} prediction(s) for queries not in split {split!r} ignored",
            file=sys.stderr,
        )
    rows, rank, q = rows[q >= 0], rank[q >= 0], q[q >= 0]
    o = np.lexsort((rank, q))
    rows, q = rows[o], q[o]
    times = _pairs(raw["t_start"].to_numpy()[rows], raw["t_end"].to_numpy()[rows])
    bounds = np.searchsorted(q, np.arange(len(queries) + 1))
    results = [
        {"clip_uid": str(c), "annotation_uid": str(a), "query_idx": int(i), "predicted_times": times[b0:b1]}
        for c, a, i, b0, b1 in zip(
            queries["video_id"], queries["annotation_uid"], queries["annotation_idx"], bounds[:-1], bounds[1:]
        )
    ]
    return {"version": "1.0", "challenge": "ego4d_nlq_challenge", "results": results}


def read_nlq_submission(path: str | os.PathLike) -> pd.DataFrame:
    """Entries of an NLQ submission, file order: ``clip_uid, annotation_uid, query_idx, predicted_times``."""
    return parse_nlq_submission(read_json(path), path)


def parse_nlq_submission(obj: Any, path: str | os.PathLike | None = None) -> pd.DataFrame:
    """``read_nlq_submission`` of an already-loaded submission object (e.g. ``nlq_submission``'s result)."""
    results = obj.get("results") if isinstance(obj, dict) else None
    if not isinstance(results, list):
        raise DataError(path, None, "expected the NLQ submission layout {'results': [...]}")
    rows = []
    for i, e in enumerate(results):
        item = f"entry {i}"
        if not isinstance(e, dict) or any(k not in e for k in ("clip_uid", "annotation_uid", "query_idx")):
            raise DataError(path, item, "entry needs clip_uid, annotation_uid, query_idx, predicted_times")
        times = e.get("predicted_times", [])
        ok = isinstance(times, list) and all(
            isinstance(w, list)
            and len(w) == 2
            and all(isinstance(x, (int, float)) and not isinstance(x, bool) and np.isfinite(x) for x in w)
            for w in times
        )
        if not ok:
            raise DataError(path, item, "predicted_times must be a list of [start, end] numbers")
        rows.append((str(e["clip_uid"]), str(e["annotation_uid"]), int(e["query_idx"]), times))
    return pd.DataFrame(rows, columns=["clip_uid", "annotation_uid", "query_idx", "predicted_times"])


# -------------------------------------------------------------------------------------- ActivityNet-Captions
def captions_windows(raw: pd.DataFrame, top_k: int = CAPTIONS_TOP_K) -> pd.DataFrame:
    """Ranked windows ``key, video_id, sentence_index, rank, t_start, t_end`` (top ``top_k`` per query)."""
    rows, rank = ranked_top_k(raw[["video_id", "sentence_index"]], raw["score"].to_numpy(), top_k)
    vid = raw["video_id"].astype(str).to_numpy()[rows]
    idx = raw["sentence_index"].to_numpy(np.int64)[rows]
    o = np.lexsort((rank, idx, pd.Index(pd.unique(vid)).get_indexer(vid)))  # video (first seen), index, rank
    rows, rank, vid, idx = rows[o], rank[o], vid[o], idx[o]
    key = pd.Series(vid, dtype=str) + "-" + pd.Series(idx).astype(str)
    t_start, t_end = raw["t_start"].to_numpy()[rows], raw["t_end"].to_numpy()[rows]
    return pd.DataFrame(
        {"key": key, "video_id": vid, "sentence_index": idx, "rank": rank, "t_start": t_start, "t_end": t_end}
    )


def captions_submission(raw: pd.DataFrame, top_k: int = CAPTIONS_TOP_K) -> dict:
    """``convert_result_to_anet_cap`` output from raw predictions (``video_id, sentence_index, ...``)."""
    w = captions_windows(raw, top_k)
    times = _pairs(w["t_start"].to_numpy(), w["t_end"].to_numpy())
    starts = np.flatnonzero(w["rank"].to_numpy() == 0)
    ends = np.r_[starts[1:], len(w)]
    keys, vids, idxs = w["key"].to_numpy(), w["video_id"].to_numpy(), w["sentence_index"].to_numpy()
    return {
        "results": {
            str(keys[a]): {"video_id": str(vids[a]), "anno_id": int(idxs[a]), "timestamp": times[a:b]}
            for a, b in zip(starts, ends)
        }
    }


def read_captions_submission(path: str | os.PathLike) -> pd.DataFrame:
    """Windows of an ANet-Captions result file: ``key, rank, t_start, t_end`` (rank = position in the list)."""
    obj = read_json(path)
    results = obj.get("results") if isinstance(obj, dict) else None
    if not isinstance(results, dict):
        raise DataError(path, None, "expected the ANet-Captions layout {'results': {key: {timestamp: ...}}}")
    keys, ranks, ts, te = [], [], [], []
    for key, entry in results.items():
        stamps = entry.get("timestamp") if isinstance(entry, dict) else None
        if not isinstance(stamps, list) or not all(isinstance(w, list) and len(w) == 2 for w in stamps):
            raise DataError(path, f"key {key}", "'timestamp' must be a list of [start, end]")
        for r, (s, e) in enumerate(stamps):
            keys.append(str(key)), ranks.append(r), ts.append(s), te.append(e)
    try:
        t_start, t_end = np.asarray(ts, dtype=np.float64), np.asarray(te, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(path, None, "non-numeric timestamp") from None
    return pd.DataFrame({"key": keys, "rank": np.asarray(ranks, dtype=np.int64), "t_start": t_start, "t_end": t_end})


# -------------------------------------------------------------------------------------- Charades frame scores
def write_charades_frame_scores(path: str | os.PathLike, video_ids, scores: np.ndarray, frames: int = 25) -> None:
    """Lines ``<id> <frame> <scores...>`` (video-major; ``scores`` ``[len(video_ids) * frames, C]``), each score
    as ``str(float(x))`` as UniMD writes them; repeated values are formatted once."""
    scores = np.asarray(scores)
    values, inverse = np.unique(scores.astype(np.float64), return_inverse=True)
    text = np.array([str(float(v)) for v in values], dtype=object)[inverse.reshape(scores.shape)]
    ids = np.repeat(np.asarray(list(video_ids), dtype=object), frames)
    frame = np.tile(np.arange(frames).astype(str).astype(object), len(ids) // frames if frames else 0)
    lines = [f"{i} {f} " + " ".join(row) for i, f, row in zip(ids, frame, text)]
    with atomic_path(path) as tmp:
        opener = gzip.open if str(path).endswith(".gz") else open
        with opener(tmp, "wt", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + ("\n" if lines else ""))


def read_charades_frame_scores(path: str | os.PathLike) -> tuple[pd.DataFrame, np.ndarray]:
    """(``video_id, frame`` table, float64 scores ``[rows, C]``) in file order, read as the official evaluator
    reads them (whitespace-separated, no header); ids stay strings (e.g. ``00607``)."""
    with open_text(path) as fh:
        try:
            df = pd.read_csv(fh, header=None, sep=r"\s+", dtype={0: str})
        except pd.errors.EmptyDataError:
            return pd.DataFrame({"video_id": [], "frame": []}), np.zeros((0, 0))
        except (pd.errors.ParserError, ValueError) as err:
            raise DataError(path, None, f"malformed frame-score file: {err}") from None
    if df.shape[1] < 3:
        raise DataError(path, None, "expected '<id> <frame> <class scores...>' per line")
    try:
        frame = df[1].to_numpy(np.int64)
        scores = df.iloc[:, 2:].to_numpy(np.float64)
    except (TypeError, ValueError):
        raise DataError(path, None, "frame index and scores must be numbers") from None
    return pd.DataFrame({"video_id": df[0].astype(str), "frame": frame}), scores
