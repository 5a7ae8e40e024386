"""Plain sequential re-statement of the C++ ops (METRICS.md §6, spec §8.2), one item at a time.

A test oracle for the tie and removal-order semantics that the reference cases do not exercise
(they have no equal scores within a class). Deliberately naive: Python lists, float32 scalars.
"""

from __future__ import annotations

import math

import numpy as np

F32 = np.float32


def _iou(a1, a2, alen, b1, b2):
    blen = (b2 - b1) + F32(1e-6)
    inter = max(min(a2, b2) - max(a1, b1), F32(0))
    return inter / ((alen + blen) - inter)


def soft_nms_seq(x1, x2, sc, *, iou_threshold, sigma, min_score, method):
    """Returns (indices in emission order, emitted scores)."""
    x1, x2, s = [F32(v) for v in x1], [F32(v) for v in x2], [F32(v) for v in sc]
    idx = list(range(len(s)))
    thr, sig, lo = F32(iou_threshold), F32(sigma), F32(min_score)
    n, i, out_i, out_s = len(s), 0, [], []
    while i < n:
        best = i
        for p in range(i + 1, n):
            if s[p] > s[best]:  # strict: the first maximum wins
                best = p
        for arr in (x1, x2, s, idx):
            arr[i], arr[best] = arr[best], arr[i]
        out_i.append(idx[i])
        out_s.append(s[i])
        alen = (x2[i] - x1[i]) + F32(1e-6)
        p = i + 1
        while p < n:
            ov = _iou(x1[i], x2[i], alen, x1[p], x2[p])
            if method == 2:
                w = F32(math.exp(float((ov * ov) / -sig)))
            elif method == 1:
                w = F32(1) - ov if ov >= thr else F32(1)
            else:
                w = F32(0) if ov >= thr else F32(1)
            s[p] = s[p] * w
            if s[p] < lo:  # move the last item into the hole and look at this slot again
                for arr in (x1, x2, s, idx):
                    arr[p] = arr[n - 1]
                n -= 1
                continue
            p += 1
        i += 1
    return out_i, out_s


def hard_nms_seq(x1, x2, sc, *, iou_threshold, min_score):
    """Returns kept indices by descending score (stable among equal scores)."""
    cand = [k for k in range(len(sc)) if not (min_score > 0) or F32(sc[k]) > F32(min_score)]
    cand.sort(key=lambda k: -F32(sc[k]))  # Python's sort is stable
    thr, kept, dead = F32(iou_threshold), [], set()
    for a, k in enumerate(cand):
        if k in dead:
            continue
        kept.append(k)
        alen = (F32(x2[k]) - F32(x1[k])) + F32(1e-6)
        for j in cand[a + 1 :]:
            if j not in dead and _iou(F32(x1[k]), F32(x2[k]), alen, F32(x1[j]), F32(x2[j])) >= thr:
                dead.add(j)
    return kept
