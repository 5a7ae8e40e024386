"""TEMPORARY test-only Gaussian soft-NMS (spec §8.2), used until ``unimd_lib.post.batched_nms`` lands on main.

Follows the C++ description: per label, repeatedly emit the current maximum (swapped into place), decay every
later score by exp(-IoU²/σ), and drop a score below ``min_score`` by moving the last element into its place.
Keep the first ``max_seg_num`` emitted per label, then sort all labels by score and cap again.
"""

from __future__ import annotations

import numpy as np


def _soft_nms_one(segs: np.ndarray, scores: np.ndarray, sigma: float, min_score: float, cap: int):
    s = segs[:, 0].astype(np.float64).copy()
    e = segs[:, 1].astype(np.float64).copy()
    sc = scores.astype(np.float64).copy()
    ln = e - s + 1e-6
    n = len(sc)
    out_s, out_e, out_sc = [], [], []
    i = 0
    while i < n and len(out_sc) < cap:
        m = i + int(np.argmax(sc[i:n]))
        for arr in (s, e, sc, ln):
            arr[i], arr[m] = arr[m], arr[i]
        out_s.append(s[i])
        out_e.append(e[i])
        out_sc.append(sc[i])
        if i + 1 < n:
            rest = slice(i + 1, n)
            inter = np.maximum(0.0, np.minimum(e[i], e[rest]) - np.maximum(s[i], s[rest]))
            iou = inter / (ln[i] + ln[rest] - inter)
            sc[rest] *= np.exp(-(iou * iou) / sigma)
            j = i + 1
            while True:  # drop decayed scores below min_score: the last element takes their place
                low = np.flatnonzero(sc[j:n] < min_score)
                if low.size == 0:
                    break
                j += int(low[0])
                n -= 1
                for arr in (s, e, sc, ln):
                    arr[j] = arr[n]
        i += 1
    segs_out = np.stack([out_s, out_e], axis=1) if out_sc else np.zeros((0, 2))
    return segs_out.astype(np.float32), np.asarray(out_sc, dtype=np.float32)


def batched_soft_nms(segs, scores, labels, *, sigma: float, min_score: float, max_seg_num: int):
    all_s, all_sc, all_l = [], [], []
    for lab in np.unique(labels):
        sel = labels == lab
        s, sc = _soft_nms_one(segs[sel], scores[sel], sigma, min_score, max_seg_num)
        all_s.append(s)
        all_sc.append(sc)
        all_l.append(np.full(sc.size, lab, dtype=np.int64))
    if not all_sc:
        return np.zeros((0, 2), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
    s, sc, lb = np.concatenate(all_s), np.concatenate(all_sc), np.concatenate(all_l)
    order = np.argsort(-sc, kind="stable")[:max_seg_num]
    return s[order], sc[order], lb[order]


def batched_nms(
    segs,
    scores,
    labels,
    *,
    iou_threshold,
    min_score,
    max_seg_num,
    use_soft_nms=True,
    multiclass=True,
    sigma=0.5,
    voting_thresh=0.75,
    backend="auto",
):
    """Same signature as the library's future ``unimd_lib.post.batched_nms`` (Gaussian multiclass only)."""
    assert use_soft_nms and multiclass, "test helper implements only the Gaussian multiclass soft-NMS"
    return batched_soft_nms(segs, scores, labels, sigma=sigma, min_score=min_score, max_seg_num=max_seg_num)


def install_if_missing(monkeypatch) -> None:
    """Patch this helper in as ``unimd_lib.post.batched_nms`` while the library has none (until it lands)."""
    import unimd_lib.post as post

    if not hasattr(post, "batched_nms"):
        monkeypatch.setattr(post, "batched_nms", batched_nms, raising=False)
