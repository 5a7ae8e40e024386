"""ANETdetection-equivalent mAP and top-k× recall (METRICS.md §1), bit-exact and vectorised.

Quirks reproduced on purpose (named where they happen):
* label aliasing: prediction labels go through ``Series.replace(activity_index)``; a label without GT in the
  split is left as it is and scored as the class whose *column* has that number;
* ranking: per class ``argsort()[::-1]`` on float64 scores, numpy's own tie order (``post/ranking.py``);
* predictions on videos without GT of the class (other classes, other splits, unknown ids) are FPs;
* ``tiou == thr`` is a TP; thresholds are used exactly as given (``np.linspace`` values);
* cumulative TP/FP counts are cast to float32, so recall and precision are float32; the VOC-2011 AP is then
  summed in float64 with ``np.sum`` over exactly the original's term array (pairwise summation);
* empty predictions return zeros (the original returns ``(0, 0, 0)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from unimd_lib.backend import get_xp
from unimd_lib.eval import _xp
from unimd_lib.eval.detection_gt import DetectionGroundTruth
from unimd_lib.eval.detection_match import Blocks, expand_pairs, greedy_true_positives, segment_tiou, topk_hit_counts
from unimd_lib.post.ranking import numpy_desc_order

DEFAULT_TOP_K = (1, 5)


@dataclass(frozen=True)
class DetectionResult:
    tiou_thresholds: np.ndarray  # [T]
    top_k: tuple[int, ...]  # [K]
    class_label_ids: np.ndarray  # [C]: column -> label_id
    ap: np.ndarray  # [T, C]
    recall: np.ndarray  # [T, K, C]
    mAP: np.ndarray  # [T]
    average_mAP: float
    mRecall: np.ndarray  # [T, K]

    def metrics(self) -> dict[str, float]:
        """``average_mAP``, ``mAP@0.50``…, ``R1@0.50``…, ``R5@0.50``… (fractions; thresholds with two decimals)."""
        out = {"average_mAP": float(self.average_mAP)}
        out.update({f"mAP@{thr:.2f}": float(v) for thr, v in zip(self.tiou_thresholds, self.mAP)})
        for k, kk in enumerate(self.top_k):
            out.update({f"R{kk}@{thr:.2f}": float(v) for thr, v in zip(self.tiou_thresholds, self.mRecall[:, k])})
        return out


def map_labels(labels: np.ndarray, class_label_ids: np.ndarray) -> np.ndarray:
    """Class column of each prediction label. QUIRK (label aliasing): ``Series.replace(activity_index)`` leaves a
    label that has no GT unchanged, so it is later read as a column index."""
    labels = np.asarray(labels, dtype=np.int64)
    pos = np.minimum(np.searchsorted(class_label_ids, labels), len(class_label_ids) - 1)
    return np.where(class_label_ids[pos] == labels, pos, labels)


def _prepare(gt: DetectionGroundTruth, predictions: pd.DataFrame) -> dict[str, np.ndarray]:
    """Host-side: map labels and videos, drop labels outside the class range, rank per class (exact ties)."""
    C = gt.num_classes
    col = map_labels(predictions["label"].to_numpy(), gt.class_label_ids)
    keep = np.flatnonzero((col >= 0) & (col < C))
    gt_videos = pd.Index(pd.unique(gt.video_id))
    video = gt_videos.get_indexer(predictions["video_id"])[keep]
    score = predictions["score"].to_numpy(np.float64)[keep]
    order = numpy_desc_order(col[keep], score)  # QUIRK: per-class argsort()[::-1], numpy's tie order
    keep = keep[order]
    label = col[keep]
    class_start = np.searchsorted(label, np.arange(C))
    return {
        "input_pos": keep,
        "label": label,
        "video": video[order],
        "score": score[order],
        "t_start": predictions["t_start"].to_numpy(np.float64)[keep],
        "t_end": predictions["t_end"].to_numpy(np.float64)[keep],
        "class_start": class_start,
        "class_count": np.diff(np.r_[class_start, len(label)]),
        "pos": np.arange(len(label)) - class_start[label],
    }


def _average_precision(xp, tp, preds, npos, C) -> np.ndarray:
    """VOC-2011 AP per (threshold, class) from the TP flags of the ranked predictions."""
    T, N = tp.shape
    label, pos = xp.asarray(preds["label"]), xp.asarray(preds["pos"])
    has_pred = preds["class_count"] > 0
    start = xp.asarray(np.minimum(preds["class_start"], max(N - 1, 0)))
    cum = xp.cumsum(tp, axis=1, dtype=xp.int64)
    base = cum[:, start] - tp[:, start]  # TPs before each class's first prediction
    t_idx, n_idx = xp.nonzero(tp)
    cls = label[n_idx]
    n_tp = (cum[t_idx, n_idx] - base[t_idx, cls]).astype(xp.float32)  # QUIRK: float32 cumulative counts
    rec = n_tp / xp.asarray(npos, dtype=xp.float32)[cls]
    prec = n_tp / (pos[n_idx] + 1).astype(xp.float32)
    seg = t_idx * C + cls  # one segment per (threshold, class), in the original's order
    # interpolated precision: max precision at or after each TP (it is reached at a TP), per segment
    n_seg = T * C
    prec_bits = prec.view(xp.uint32).astype(xp.int64)  # order-preserving for non-negative floats
    rev_key = ((n_seg - 1 - seg[::-1]).astype(xp.int64) << 32) | prec_bits[::-1]
    mprec = (_xp.prefix_max(xp, rev_key) & 0xFFFFFFFF).astype(xp.uint32).view(xp.float32)[::-1]
    first = _xp.first_in_run(xp, seg)
    prev = xp.concatenate([xp.zeros(1, dtype=xp.float32), rec[:-1]]) if len(rec) else rec
    prev = xp.where(first, xp.float32(0), prev)
    terms = _xp.host((rec.astype(xp.float64) - prev.astype(xp.float64)) * mprec.astype(xp.float64))
    seg = _xp.host(seg)
    # the original's term array also ends with (1 - recall) * 0 when recall never reaches 1
    last = np.maximum(preds["class_start"] + preds["class_count"] - 1, 0)  # N >= 1 here
    total_tp = _xp.host(cum[:, xp.asarray(last)] - base)
    trailing = np.flatnonzero((has_pred[None, :] & (total_tp < npos[None, :])).ravel())
    all_seg = np.concatenate([seg, trailing])
    all_val = np.concatenate([terms, np.zeros(len(trailing))])
    o = np.argsort(all_seg, kind="stable")  # TP terms first, the trailing zero last
    all_seg, all_val = all_seg[o], all_val[o]
    ap = np.zeros(n_seg)
    starts = np.flatnonzero(np.r_[True, all_seg[1:] != all_seg[:-1]])  # N >= 1: at least one term
    ends = np.r_[starts[1:], len(all_seg)]
    single = ends - starts == 1
    ap[all_seg[starts[single]]] = all_val[starts[single]]
    for a, b in zip(starts[~single], ends[~single]):  # ≤ T*C segments; np.sum = the original's summation order
        ap[all_seg[a]] = np.sum(np.array(all_val[a:b]))
    return ap.reshape(T, C)


def evaluate_detection(
    gt: DetectionGroundTruth,
    predictions: pd.DataFrame,
    tiou_thresholds,
    top_k: tuple[int, ...] = DEFAULT_TOP_K,
    backend: str = "numpy",
) -> DetectionResult:
    """ANETdetection(...).evaluate(predictions) with ``predictions`` columns ``video_id, t_start, t_end, label,
    score`` (``label`` = ``label_id`` as in the GT file)."""
    thr = np.asarray(tiou_thresholds, dtype=np.float64)
    top_k = tuple(int(k) for k in top_k)
    T, K, C = len(thr), len(top_k), gt.num_classes
    zeros = DetectionResult(
        thr, top_k, gt.class_label_ids, np.zeros((T, C)), np.zeros((T, K, C)), np.zeros(T), 0.0, np.zeros((T, K))
    )
    if len(predictions) == 0:  # the original returns (0, 0, 0)
        return zeros
    xp = get_xp(backend)
    preds = _prepare(gt, predictions)
    N = len(preds["label"])
    if N == 0:  # no prediction has a label inside the class range: every class has AP 0 and recall 0
        return zeros
    gt_videos = pd.Index(pd.unique(gt.video_id))
    blocks = Blocks(gt_videos.get_indexer(gt.video_id), gt.label, C)
    block, has = blocks.lookup(preds["video"], preds["label"])
    preds["block"], preds["has_block"] = block, has
    npos = np.bincount(gt.label, minlength=C)
    gt_s = xp.asarray(gt.t_start[blocks.perm])
    gt_e = xp.asarray(gt.t_end[blocks.perm])
    gt_label = xp.asarray(gt.label[blocks.perm])
    counts = xp.asarray(np.where(has, blocks.length[block], 0))
    pair_pred, pair_gt = expand_pairs(xp, counts, xp.asarray(blocks.start[block]))
    ps, pe = xp.asarray(preds["t_start"]), xp.asarray(preds["t_end"])
    tiou = segment_tiou(xp, ps[pair_pred], pe[pair_pred], gt_s[pair_gt], gt_e[pair_gt])
    offsets = xp.cumsum(counts) - counts
    tp = greedy_true_positives(xp, thr, pair_pred, pair_gt, tiou, offsets, counts, blocks, N)
    ap = _average_precision(xp, tp, preds, npos, C)
    hits = topk_hit_counts(xp, thr, top_k, blocks, gt_s, gt_e, gt_label, preds, C)
    recall = hits / npos.astype(np.float64)[None, None, :]
    recall[:, :, preds["class_count"] == 0] = 0.0
    mAP = ap.mean(axis=1)  # same reductions, same array layouts as the original
    return DetectionResult(thr, top_k, gt.class_label_ids, ap, recall, mAP, float(mAP.mean()), recall.mean(axis=2))
