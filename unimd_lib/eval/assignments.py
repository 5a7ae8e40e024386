"""Per-prediction and per-GT outcomes under each protocol's own matching (for views and error analysis).

The metric modules return aggregates; this module exposes *who matched whom*, built from the same pieces
(``detection_map._prepare``, ``detection_match``, the MR IoU functions of ``recall`` / ``nlq``), so a view's
true positives are exactly the ones the protocol counts.

* Detection (ANet-style mAP protocols): ``assign_detections`` replays the greedy matching of
  ``evaluate_detection`` over the whole split and returns, per threshold, the GT each prediction locked and
  the prediction that locked each GT. Greedy matching walks each class in score order and a prediction's
  outcome depends only on the predictions ranked before it, so any score threshold or per-(video, class)
  top-k of these rankings keeps the outcome of every prediction it keeps.
* Moment retrieval: ``MRRule`` per protocol: its IoU (dtype and formula), its hit comparison (``>=``, or
  ``>`` for Ego4D NLQ) and its ranking (descending score per query, equal scores in input order).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from unimd_lib.backend import get_xp
from unimd_lib.eval import _xp
from unimd_lib.eval.detection_gt import DetectionGroundTruth
from unimd_lib.eval.detection_map import _prepare
from unimd_lib.eval.detection_match import Blocks, expand_pairs, greedy_true_positives, segment_tiou
from unimd_lib.eval.nlq import THRESHOLDS as NLQ_THRESHOLDS
from unimd_lib.eval.nlq import TOP_K as NLQ_TOP_K
from unimd_lib.eval.nlq import nlq_hit, nlq_iou
from unimd_lib.eval.recall import (
    CAPTION_RANKS,
    CAPTION_THRESHOLDS,
    STA_RANKS,
    STA_THRESHOLDS,
    captions_hit,
    captions_iou,
    sta_gt_segments,
    sta_hit,
    sta_iou,
)


@dataclass(frozen=True)
class DetectionAssignment:
    """Outcome of every input prediction (rows of the table given, in order) and every GT instance (rows of
    the ``DetectionGroundTruth``) at each threshold."""

    tiou_thresholds: np.ndarray  # [T]
    column: np.ndarray  # [N] class column the prediction is scored as; -1: label outside the classes (ignored)
    rank: np.ndarray  # [N] position in its class's ranking over the split (0 = best); -1 when ignored
    best_tiou: np.ndarray  # [N] best tIoU with a GT of its video and class (NaN: no such GT)
    best_gt: np.ndarray  # [N] GT row of that best tIoU (-1: none)
    matched_gt: np.ndarray  # [T, N] GT row the prediction matched; -1 = false positive
    gt_matched_by: np.ndarray  # [T, G] prediction row that matched the GT; -1 = missed

    @property
    def tp(self) -> np.ndarray:
        return self.matched_gt >= 0

    def threshold_index(self, thr: float) -> int:
        hit = np.flatnonzero(np.isclose(self.tiou_thresholds, thr, rtol=0, atol=1e-9))
        if len(hit) == 0:
            raise KeyError(f"threshold {thr} not assigned (have {self.tiou_thresholds.tolist()})")
        return int(hit[0])


def assign_detections(
    gt: DetectionGroundTruth, predictions: pd.DataFrame, tiou_thresholds, backend: str = "numpy"
) -> DetectionAssignment:
    """The matching of ``evaluate_detection(gt, predictions, tiou_thresholds)``, prediction by prediction.

    ``predictions`` as ``evaluate_detection`` takes them (already through ``prepare_detection_predictions``
    for fusion / ``v_`` ids). Predictions on videos without GT of their class are false positives, as there.
    """
    thr = np.asarray(tiou_thresholds, dtype=np.float64)
    T, N_in, G = len(thr), len(predictions), len(gt)
    column = np.full(N_in, -1, dtype=np.int64)
    rank = np.full(N_in, -1, dtype=np.int64)
    best_tiou = np.full(N_in, np.nan)
    best_gt = np.full(N_in, -1, dtype=np.int64)
    matched = np.full((T, N_in), -1, dtype=np.int64)
    gt_by = np.full((T, G), -1, dtype=np.int64)
    result = DetectionAssignment(thr, column, rank, best_tiou, best_gt, matched, gt_by)
    if N_in == 0:
        return result
    preds = _prepare(gt, predictions)
    N = len(preds["label"])
    if N == 0:
        return result
    xp = get_xp(backend)
    C = gt.num_classes
    gt_videos = pd.Index(pd.unique(gt.video_id))
    blocks = Blocks(gt_videos.get_indexer(gt.video_id), gt.label, C)
    block, has = blocks.lookup(preds["video"], preds["label"])
    gt_s, gt_e = xp.asarray(gt.t_start[blocks.perm]), xp.asarray(gt.t_end[blocks.perm])
    counts = xp.asarray(np.where(has, blocks.length[block], 0))
    pair_pred, pair_gt = expand_pairs(xp, counts, xp.asarray(blocks.start[block]))
    ps, pe = xp.asarray(preds["t_start"]), xp.asarray(preds["t_end"])
    tiou = segment_tiou(xp, ps[pair_pred], pe[pair_pred], gt_s[pair_gt], gt_e[pair_gt])
    offsets = xp.cumsum(counts) - counts
    _, match = greedy_true_positives(xp, thr, pair_pred, pair_gt, tiou, offsets, counts, blocks, N, return_matches=True)
    pos = preds["input_pos"]
    column[pos], rank[pos] = preds["label"], preds["pos"]
    match = _xp.host(match)
    for t in range(T):
        m = match[t] >= 0
        matched[t, pos[m]] = blocks.perm[match[t, m]]
        gt_by[t, blocks.perm[match[t, m]]] = pos[m]
    # best tIoU per prediction (display / diagnosis only): first pair of the highest tIoU, NaN ranked last
    pp, gg, tt = _xp.host(pair_pred), _xp.host(pair_gt), _xp.host(tiou)
    if len(pp):
        o = np.lexsort((-np.where(np.isnan(tt), -np.inf, tt), pp))
        first = o[np.r_[True, pp[o][1:] != pp[o][:-1]]]
        best_tiou[pos[pp[first]]] = tt[first]
        best_gt[pos[pp[first]]] = blocks.perm[gg[first]]
    return result


# ---------------------------------------------------------------------------------------------- moment retrieval
@dataclass(frozen=True)
class MRRule:
    """How one MR protocol scores a query's ranked windows against its GT window."""

    protocol: str
    comparison: str  # ">=" or ">" (the protocol's own unless overridden with ``with_comparison``)
    native_comparison: str
    thresholds: tuple[float, ...]  # the protocol's IoU thresholds
    ranks: tuple[int, ...]  # the protocol's R@k
    dtype: type  # IoU dtype (float32 for Charades-STA)
    _iou: Callable
    _hit: Callable
    nan_spoils_top_k: bool = False  # Charades-STA: a NaN IoU in the top k makes the max NaN (no hit)

    @property
    def top_k(self) -> int:
        """Windows per query the protocol reads (the submission / evaluator keeps the best 5)."""
        return max(self.ranks)

    def with_comparison(self, comparison: str | None) -> MRRule:
        if comparison is None:
            return self
        if comparison not in (">=", ">"):
            raise ValueError(f"comparison must be '>=' or '>', got {comparison!r}")
        return replace(self, comparison=comparison)

    def iou(self, p_start, p_end, g_start, g_end) -> np.ndarray:
        """Per-window IoU exactly as the protocol computes it, returned as float64 (float32 values kept exact)."""
        if self.dtype is np.float32:
            gs, ge = sta_gt_segments(g_start, g_end)
            ps, pe = np.asarray(p_start, np.float32), np.asarray(p_end, np.float32)
        else:
            gs, ge = np.asarray(g_start, np.float64), np.asarray(g_end, np.float64)
            ps, pe = np.asarray(p_start, np.float64), np.asarray(p_end, np.float64)
        return np.asarray(self._iou(np, ps, pe, gs, ge), dtype=np.float64)

    def hit(self, iou: np.ndarray, thr: float) -> np.ndarray:
        """Windows that count as a hit at ``thr`` (NaN never hits)."""
        iou = np.asarray(iou, dtype=self.dtype)  # exact: float32 IoUs came in as float64 of float32
        if self.comparison == self.native_comparison:
            return np.asarray(self._hit(np, iou, thr))
        t = self.dtype(thr)
        return iou > t if self.comparison == ">" else iou >= t


MR_RULES: dict[str, MRRule] = {
    "charades_sta": MRRule(
        "charades_sta", ">=", ">=", STA_THRESHOLDS, STA_RANKS, np.float32, sta_iou, sta_hit, nan_spoils_top_k=True
    ),
    "anet_captions": MRRule(
        "anet_captions",
        ">=",
        ">=",
        tuple(sorted(CAPTION_THRESHOLDS)),
        CAPTION_RANKS,
        np.float64,
        captions_iou,
        captions_hit,
    ),
    "ego4d_nlq": MRRule("ego4d_nlq", ">", ">", NLQ_THRESHOLDS, NLQ_TOP_K, np.float64, nlq_iou, nlq_hit),
}


def mr_rule(protocol: str, comparison: str | None = None) -> MRRule:
    if protocol not in MR_RULES:
        raise ValueError(f"no moment-retrieval rule for protocol {protocol!r}; expected one of {sorted(MR_RULES)}")
    return MR_RULES[protocol].with_comparison(comparison)


def rank_windows(query_code: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Rank of each window inside its query (0 = best): descending score, equal scores in input order, as
    every MR protocol ranks (``MREvaluator``, and the stable sorts of the NLQ / captions submissions)."""
    query_code = np.asarray(query_code)
    order = np.lexsort((-np.asarray(scores, dtype=np.float64), query_code))
    q = query_code[order]
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - np.searchsorted(q, q)
    return rank


def first_hit_rank(query_code: np.ndarray, rank: np.ndarray, hit: np.ndarray, n_queries: int) -> np.ndarray:
    """Per query, the smallest rank among its hit windows (``n``-th window = rank n; int64 max: none)."""
    best = np.full(n_queries, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(best, np.asarray(query_code)[hit], np.asarray(rank)[hit])
    return best
