"""Vectorised, exact equivalents of ANETdetection's two per-prediction loops (METRICS.md §1).

Everything here takes predictions already grouped by class column and ranked the way the original ranks them
(see ``ranking.py``), and GT instances grouped into *blocks* = (video, class), file order inside a block.

Greedy matching. The original walks a class's predictions in score order; for each threshold it visits the
prediction's GTs (same video and class) by descending tIoU and takes the first one that is not yet matched at
that threshold, provided its tIoU is not ``< thr`` (so ``tiou == thr`` is a TP and a NaN tIoU passes).
Predictions only interact inside a block, so the walk is replayed in *rounds*: in each round every block's
still-open predictions propose their best free GT; proposals are accepted in score order until the first
prediction whose best GT was already taken earlier in the same round (its choice depends on that TP). Each
round accepts at least one TP per busy block, so the number of rounds is bounded by the GTs per block, and
usually is 2-3. A prediction with no free eligible GT is a FP for good (GTs only ever get locked).
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from unimd_lib.eval import _xp
from unimd_lib.post.ranking import numpy_desc_order, rank_in_groups


def segment_tiou(xp: ModuleType, p_start, p_end, g_start, g_end):
    """tIoU in float64, operation order as the original: inter / ((g_len + p_len) - inter)."""
    inter = xp.maximum(xp.minimum(p_end, g_end) - xp.maximum(p_start, g_start), 0.0)
    union = (g_end - g_start) + (p_end - p_start) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / union


class Blocks:
    """GT instances sorted into (video, class) blocks; ``start``/``length`` index the sorted GT arrays."""

    def __init__(self, gt_video_code: np.ndarray, gt_label: np.ndarray, num_classes: int):
        key = gt_video_code.astype(np.int64) * num_classes + gt_label
        self.perm = np.argsort(key, kind="stable")  # keeps file order inside a block
        key = key[self.perm]
        self.start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        self.keys = key[self.start]
        self.length = np.diff(np.r_[self.start, len(key)])
        self.of_gt = np.repeat(np.arange(len(self.start)), self.length)
        self.num_classes = num_classes

    def lookup(self, video_code: np.ndarray, label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(block index, has_block) for predictions; videos outside the GT have ``video_code == -1``."""
        key = np.where(video_code >= 0, video_code.astype(np.int64) * self.num_classes + label, -1)
        b = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
        return b, (video_code >= 0) & (self.keys[b] == key)


def expand_pairs(xp: ModuleType, counts, first_gt):
    """All (prediction, GT) pairs: prediction ``i`` pairs with GTs ``first_gt[i] .. first_gt[i]+counts[i]-1``."""
    pred = _xp.repeat_index(xp, counts)
    offset = xp.cumsum(counts) - counts
    gt = first_gt[pred] + (xp.arange(len(pred)) - offset[pred])
    return pred, gt


def _visit_order(xp, eligible, pair_pred, tiou, pair_offset, pair_count):
    """Order of the eligible pairs (indices into ``eligible``) by (prediction, the original's GT visit order =
    ``np.argsort(row)[::-1]`` of the prediction's whole tIoU row)."""
    e_pred, e_tiou = pair_pred[eligible], tiou[eligible]
    desc = xp.where(xp.isnan(e_tiou), -np.inf, -e_tiou)  # argsort()[::-1] visits NaN first
    o = _xp.stable_argsort(xp, desc)
    o = o[_xp.stable_argsort(xp, e_pred[o])]
    p, t = e_pred[o], e_tiou[o]
    same = (p[1:] == p[:-1]) & ((t[1:] == t[:-1]) | (xp.isnan(t[1:]) & xp.isnan(t[:-1])))
    if not bool(same.any()):
        return o
    # equal tIoUs inside a row: replay the original's argsort on that row (host, rare)
    o, p_h, elig_h = _xp.host(o), _xp.host(p), _xp.host(eligible)
    off_h, cnt_h, tiou_h = _xp.host(pair_offset), _xp.host(pair_count), _xp.host(tiou)
    for n in np.unique(p_h[1:][_xp.host(same)]):
        a, b = np.searchsorted(p_h, n), np.searchsorted(p_h, n, side="right")
        row = tiou_h[off_h[n] : off_h[n] + cnt_h[n]]
        visit_rank = np.empty(len(row), dtype=np.int64)
        visit_rank[np.argsort(row)[::-1]] = np.arange(len(row))
        seg = o[a:b]
        o[a:b] = seg[np.argsort(visit_rank[elig_h[seg] - off_h[n]], kind="stable")]
    return xp.asarray(o)


def greedy_true_positives(
    xp, thresholds, pair_pred, pair_gt, tiou, pair_offset, pair_count, blocks, n_pred, return_matches=False
):
    """``tp[t, i]``: prediction ``i`` (ranked order) is a TP at threshold ``t``; everything else is a FP.
    With ``return_matches``, also ``match[t, i]``: the (block-sorted) GT index it locked, -1 for a FP."""
    n_gt, n_blocks = len(blocks.of_gt), len(blocks.start)
    block_of_gt = xp.asarray(blocks.of_gt)
    tp = xp.zeros((len(thresholds), n_pred), dtype=bool)
    match = xp.full((len(thresholds), n_pred), -1, dtype=xp.int64) if return_matches else None
    eligible = xp.flatnonzero((tiou >= thresholds.min()) | xp.isnan(tiou))
    eligible = eligible[_visit_order(xp, eligible, pair_pred, tiou, pair_offset, pair_count)]
    e_pred, e_gt, e_tiou = pair_pred[eligible], pair_gt[eligible], tiou[eligible]
    for t, thr in enumerate(thresholds):
        keep = (e_tiou >= thr) | xp.isnan(e_tiou)  # `tiou < thr` is the original's FP test
        sp, sg = e_pred[keep], e_gt[keep]
        locked = xp.zeros(n_gt, dtype=bool)
        while len(sp):
            free = ~locked[sg]
            cp, cg = sp[free], sg[free]
            if not len(cp):
                break
            first = _xp.first_in_run(xp, cp)  # best free GT of each open prediction
            bp, bg = cp[first], cg[first]
            by_gt = _xp.stable_argsort(xp, bg)
            taken_again = ~_xp.first_in_run(xp, bg[by_gt])
            cutoff = xp.full(n_blocks, n_pred, dtype=xp.int64)
            _xp.scatter_min(xp, cutoff, block_of_gt[bg[by_gt][taken_again]], bp[by_gt][taken_again])
            accept = bp < cutoff[block_of_gt[bg]]
            tp[t, bp[accept]] = True
            locked[bg[accept]] = True
            if match is not None:
                match[t, bp[accept]] = bg[accept]
            still_open = sp >= cutoff[block_of_gt[sg]]
            sp, sg = sp[still_open], sg[still_open]
    return (tp, match) if return_matches else tp


def topk_hit_counts(xp, thresholds, top_k, blocks, gt_s, gt_e, gt_label, preds, num_classes):
    """Top-k× recall numerators ``[T, K, C]``: a GT is hit at (thr, k) when one of the first ``k * n`` predictions
    of its (video, class), ranked by the original's per-video ``argsort()[::-1]``, has ``tiou >= thr`` (no
    one-to-one matching; ``n`` = GTs of that class in that video)."""
    T, K = len(thresholds), len(top_k)
    block, has = preds["block"], preds["has_block"]
    rows = np.flatnonzero(has)
    if len(rows) == 0:
        return np.zeros((T, K, num_classes), dtype=np.int64)
    rows = rows[np.argsort(preds["input_pos"][rows], kind="stable")]  # input order, as the original groups
    order = rows[numpy_desc_order(block[rows], preds["score"][rows])]
    rank = rank_in_groups(order, block[order])
    n_in_block = blocks.length[block[order]]
    keep = rank < max(top_k) * n_in_block
    order, rank = order[keep], rank[keep]
    b = block[order]
    pair_pred, pair_gt = expand_pairs(xp, xp.asarray(blocks.length[b]), xp.asarray(blocks.start[b]))
    ps, pe = xp.asarray(preds["t_start"][order]), xp.asarray(preds["t_end"][order])
    tiou = segment_tiou(xp, ps[pair_pred], pe[pair_pred], gt_s[pair_gt], gt_e[pair_gt])
    r = xp.asarray(rank)[pair_pred]
    n_gt = len(blocks.of_gt)
    best = xp.full(T * n_gt, np.iinfo(np.int64).max, dtype=xp.int64)
    for t, thr in enumerate(thresholds):
        m = tiou >= thr
        _xp.scatter_min(xp, best, t * n_gt + pair_gt[m], r[m])
    best = best.reshape(T, n_gt)
    n_of_gt = xp.asarray(blocks.length[blocks.of_gt])
    counts = xp.zeros((T, K, num_classes), dtype=xp.int64)
    for k, kk in enumerate(top_k):
        hit = best < kk * n_of_gt[None, :]
        t_idx, g_idx = xp.nonzero(hit)
        flat = xp.bincount(t_idx * num_classes + gt_label[g_idx], minlength=T * num_classes)
        counts[:, k, :] = flat.reshape(T, num_classes)
    return _xp.host(counts)
