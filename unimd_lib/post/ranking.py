"""Score rankings that reproduce the original evaluators' sort calls exactly, ties included.

The original code ranks each group's predictions with ``np.argsort(scores)[::-1]`` (numpy's default, unstable
sort, reversed), one group at a time. Without equal scores in a group the result is simply "descending score";
with equal scores the order is whatever numpy's sort does on that exact array. ``numpy_desc_order`` computes
all groups at once with one stable lexsort and re-runs the original per-group call only for the (rare) groups
that hold equal scores, so the permutation is identical to the original's on the same numpy build.
This always runs on the host: the tie order is numpy's, not CuPy's.
"""

from __future__ import annotations

import numpy as np


def numpy_desc_order(groups: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Permutation that lists rows by ascending ``groups`` code and, inside a group, in the order of
    ``np.argsort(scores[rows of the group, in input order])[::-1]``.

    ``scores`` must be free of NaN (the readers reject NaN scores) and already in the dtype the original
    sorted (float64 for ANETdetection, float32 for the proposal top-k of the ANet fusion).
    """
    groups = np.asarray(groups)
    scores = np.asarray(scores)
    n = len(scores)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(-scores, kind="stable")  # = lexsort((-scores, groups)), faster: equal keys keep input order
    order = order[np.argsort(_compact(groups[order]), kind="stable")]
    g_sorted, s_sorted = groups[order], scores[order]
    tie = (g_sorted[1:] == g_sorted[:-1]) & (s_sorted[1:] == s_sorted[:-1])
    if not tie.any():
        return order
    # groups holding equal scores: replay numpy's own call on the group's scores in input order
    starts = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]])
    ends = np.r_[starts[1:], n]
    tied_groups = np.unique(g_sorted[1:][tie])
    for g in tied_groups:
        k = np.searchsorted(g_sorted[starts], g)
        a, b = starts[k], ends[k]
        rows = np.sort(order[a:b])  # the group's rows in input order
        order[a:b] = rows[np.argsort(scores[rows])[::-1]]
    return order


def _compact(codes: np.ndarray) -> np.ndarray:
    """Same order, narrowest dtype: numpy's stable sort is a radix sort for 16-bit keys."""
    if len(codes) and codes.min() >= 0 and codes.max() < 2**16:
        return codes.astype(np.uint16)
    return codes


def rank_in_groups(order: np.ndarray, groups_sorted: np.ndarray) -> np.ndarray:
    """Position of each row of a grouped permutation inside its group (0 = best); aligned with ``order``."""
    n = len(order)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, groups_sorted[1:] != groups_sorted[:-1]])
    first = np.repeat(starts, np.diff(np.r_[starts, n]))
    return np.arange(n, dtype=np.int64) - first
