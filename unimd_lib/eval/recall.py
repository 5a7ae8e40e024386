"""Moment-retrieval recall: Charades-STA (``MREvaluator``, METRICS.md §3) and ActivityNet-Captions
(``eval_result``, METRICS.md §5), vectorised over all queries.

Charades-STA: per GT query (``(video, index in the video's list)``), its predictions ranked by score (ties:
input order; the original's torch sort leaves them unspecified), IoU in **float32**
``inter / ((len_gt + len_pred) - inter)``, hit when the max IoU of the top k is ``>= thr`` (float32 compare);
GT segments are float32 with start > end swapped; ``R{k}@{thr} = hits / (queries + 1e-5)`` (QUIRK).
Predictions for unknown queries or videos are ignored; a query without predictions misses.

ActivityNet-Captions: keys ``"<video_id>-<sentence index>"`` of the GT file; windows in rank order; IoU
``inter / (min(hull, len_gt + len_pred) + 1e-8)`` (QUIRK: an exact 0.5 lands just below 0.5); hit when one of
the first k windows has ``IoU >= thr``; a missing key misses and counts 0 in mIoU; ``R@k`` =
``float32(hits) / N`` (QUIRK: float32 under numpy >= 2); ``mIoU`` = sequential sum of the first window's IoU
over all GT keys / N.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from unimd_lib.backend import get_xp
from unimd_lib.eval import _xp

STA_RANKS, STA_THRESHOLDS = (1, 5), (0.5, 0.7)
CAPTION_RANKS, CAPTION_THRESHOLDS = (1, 5), (0.5, 0.7)


def sta_gt_segments(t_start, t_end) -> tuple[np.ndarray, np.ndarray]:
    """Charades-STA GT windows as the original loads them: float32, a start > end pair swapped."""
    gs, ge = np.asarray(t_start, dtype=np.float32), np.asarray(t_end, dtype=np.float32)
    return np.minimum(gs, ge), np.maximum(gs, ge)


def sta_iou(xp, p_start, p_end, g_start, g_end):
    """Charades-STA IoU, float32 throughout (float32 inputs): ``inter / ((len_gt + len_pred) - inter)``."""
    inter = xp.maximum(xp.minimum(p_end, g_end) - xp.maximum(p_start, g_start), xp.float32(0))
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / ((g_end - g_start) + (p_end - p_start) - inter)


def sta_hit(xp, iou, thr: float):
    """A Charades-STA window hits at ``thr`` when its float32 IoU is ``>= float32(thr)`` (NaN never hits)."""
    return iou >= xp.float32(thr)


def captions_iou(xp, p_start, p_end, g_start, g_end):
    """ActivityNet-Captions IoU (float64): ``inter / (min(hull, len_gt + len_pred) + 1e-8)``."""
    inter = xp.maximum(0.0, xp.minimum(g_end, p_end) - xp.maximum(g_start, p_start))
    union = xp.minimum(xp.maximum(g_end, p_end) - xp.minimum(g_start, p_start), (g_end - g_start) + (p_end - p_start))
    return inter / (union + 1e-8)


def captions_hit(xp, iou, thr: float):
    return iou >= thr


def _first_hit_rank(xp, n_queries: int, query, rank, hit):
    """Per query, the best (smallest) rank among windows with ``hit`` (int64 max if none)."""
    best = xp.full(n_queries, np.iinfo(np.int64).max, dtype=xp.int64)
    _xp.scatter_min(xp, best, query[hit], rank[hit])
    return best


@dataclass(frozen=True)
class STAResult:
    hits: dict[str, int]  # "1-0.50" -> count, as MREvaluator keys them
    num_queries: int
    summary: dict[str, float]  # "1-0.50" -> hits / (queries + 1e-5)
    per_video: pd.DataFrame  # video_id, num_queries, r1_50, r1_70 (percent, as UniMD logs them)
    num_ignored: int = 0  # predictions for videos / query indices that are not in the GT

    def metrics(self) -> dict[str, float]:
        """``R1@0.50, R1@0.70, R5@0.50, R5@0.70`` from the summary (fractions)."""
        return {f"R{key.replace('-', '@')}": float(v) for key, v in self.summary.items()}


def evaluate_sta(gt: pd.DataFrame, predictions: pd.DataFrame, backend: str = "numpy") -> STAResult:
    """``gt``: ``video_id, index, t_start, t_end`` (one row per query, database order); ``predictions``:
    ``video_id, query_index, t_start, t_end, score``."""
    xp = get_xp(backend)
    Q = len(gt)
    gs, ge = sta_gt_segments(gt["t_start"], gt["t_end"])
    q_index = pd.MultiIndex.from_arrays([gt["video_id"].astype(str), gt["index"].to_numpy(np.int64)])
    q = q_index.get_indexer(
        pd.MultiIndex.from_arrays([predictions["video_id"].astype(str), predictions["query_index"].to_numpy(np.int64)])
    )
    q_all = q
    rows = np.flatnonzero(q >= 0)  # predictions of unknown queries are ignored
    q = q[rows]
    order = np.lexsort((-predictions["score"].to_numpy(np.float64)[rows], q))
    rows, q = rows[order], q[order]
    rank = np.arange(len(q)) - np.searchsorted(q, q)
    keep = rank < max(STA_RANKS)
    rows, q, rank = rows[keep], xp.asarray(q[keep]), xp.asarray(rank[keep])
    ps = xp.asarray(predictions["t_start"].to_numpy(np.float32)[rows])
    pe = xp.asarray(predictions["t_end"].to_numpy(np.float32)[rows])
    g_s, g_e = xp.asarray(gs)[q], xp.asarray(ge)[q]
    iou = sta_iou(xp, ps, pe, g_s, g_e)
    nan_rank = _first_hit_rank(xp, Q, q, rank, xp.isnan(iou))  # a NaN makes the top-k max NaN: no hit
    hits, hit_per_query = {}, {}
    for thr in STA_THRESHOLDS:
        best = _first_hit_rank(xp, Q, q, rank, sta_hit(xp, iou, thr))
        for k in STA_RANKS:
            hit = _xp.host((best < k) & ~(nan_rank < k))
            hits[f"{k}-{thr:.2f}"] = int(hit.sum())
            hit_per_query[(k, thr)] = hit
    hits = {f"{k}-{thr:.2f}": hits[f"{k}-{thr:.2f}"] for k in STA_RANKS for thr in STA_THRESHOLDS}  # MREvaluator order
    summary = {key: h / (Q + 1e-5) for key, h in hits.items()}
    per_video = pd.DataFrame(
        {
            "video_id": gt["video_id"].astype(str).to_numpy(),
            "r1_50": hit_per_query[(1, 0.5)],
            "r1_70": hit_per_query[(1, 0.7)],
        }
    )
    per_video = per_video.groupby("video_id", sort=False).agg(
        num_queries=("r1_50", "size"), r1_50=("r1_50", "sum"), r1_70=("r1_70", "sum")
    )
    for c in ("r1_50", "r1_70"):  # percent per video: hits / queries * 100
        per_video[c] = per_video[c] / per_video["num_queries"] * 100
    return STAResult(hits, Q, summary, per_video.reset_index(), int(len(predictions) - (q_all >= 0).sum()))


@dataclass(frozen=True)
class CaptionsResult:
    hits: dict[str, int]  # "R@1IOU0.5" -> count, keyed as eval_result
    num_queries: int
    recall: dict[str, float]  # float32 value, as the original under numpy >= 2
    mIoU: float
    num_missing: int
    num_ignored: int = 0  # windows whose key is not a GT key

    def metrics(self) -> dict[str, float]:
        out = {}
        for thr in sorted(CAPTION_THRESHOLDS):
            for k in CAPTION_RANKS:
                out[f"R{k}@{thr:.2f}"] = float(self.recall[f"R@{k}IOU{thr}"])
        return dict(sorted(out.items(), key=lambda kv: (kv[0].split("@")[0], kv[0]))) | {"mIoU": float(self.mIoU)}


def evaluate_captions(gt: pd.DataFrame, windows: pd.DataFrame, backend: str = "numpy") -> CaptionsResult:
    """``gt``: ``read_captions`` table (``video_id, index, t_start, t_end``, file order); ``windows``: ``key,
    rank, t_start, t_end`` (rank 0 = first window of the key; see ``submissions.captions_windows``)."""
    xp = get_xp(backend)
    keys = gt["video_id"].astype(str) + "-" + gt["index"].astype(str)
    N = len(keys)
    q = pd.Index(keys).get_indexer(windows["key"].astype(str))
    rows = np.flatnonzero(q >= 0)
    q = xp.asarray(q[rows])
    rank = xp.asarray(windows["rank"].to_numpy(np.int64)[rows])
    ps = xp.asarray(windows["t_start"].to_numpy(np.float64)[rows])
    pe = xp.asarray(windows["t_end"].to_numpy(np.float64)[rows])
    g_s = xp.asarray(gt["t_start"].to_numpy(np.float64))[q]
    g_e = xp.asarray(gt["t_end"].to_numpy(np.float64))[q]
    iou = captions_iou(xp, ps, pe, g_s, g_e)
    hits, recall = {}, {}
    for thr in sorted(CAPTION_THRESHOLDS, reverse=True):  # the original loops 0.7 then 0.5
        best = _first_hit_rank(xp, N, q, rank, captions_hit(xp, iou, thr))
        for k in CAPTION_RANKS:
            h = int((best < k).sum())
            hits[f"R@{k}IOU{thr}"] = h
            recall[f"R@{k}IOU{thr}"] = float(np.float32(h) / np.float32(N)) if N else float("nan")
    first = np.zeros(N)
    top = _xp.host(rank == 0)
    first[_xp.host(q)[top]] = _xp.host(iou)[top]
    miou = float(np.cumsum(first)[-1] / N) if N else float("nan")  # sequential sum, as the original
    present = np.zeros(N, dtype=bool)
    present[_xp.host(q)] = True
    return CaptionsResult(hits, N, recall, miou, int(N - present.sum()), int(len(windows) - len(rows)))
