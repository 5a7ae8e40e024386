"""Comparison helpers for the parity tests: array deviations and order-insensitive detection matching."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

# refcases/model/README.md §6
RAW_RTOL = 1e-4
RAW_ATOL = 1e-4
LOSS_RTOL = 1e-5


def deviation(actual, expected) -> tuple[float, float]:
    """(max abs, max rel) deviation over finite reference entries; rel uses |expected| + 1e-6."""
    a = np.asarray(actual, dtype=np.float64)
    b = np.asarray(expected, dtype=np.float64)
    fin = np.isfinite(b)
    if not fin.any():
        return 0.0, 0.0
    d = np.abs(a[fin] - b[fin])
    return float(d.max()), float((d / (np.abs(b[fin]) + 1e-6)).max())


def check_close(failures: list[str], name: str, actual, expected, rtol=RAW_RTOL, atol=RAW_ATOL) -> float:
    """Append a message to ``failures`` unless shapes agree, non-finite entries coincide and values are close."""
    a = np.asarray(actual)
    b = np.asarray(expected)
    if a.shape != b.shape:
        failures.append(f"{name}: shape {a.shape} != {b.shape}")
        return float("inf")
    if a.dtype == bool or b.dtype == bool:
        if not np.array_equal(a, b):
            failures.append(f"{name}: boolean arrays differ in {int((a != b).sum())} entries")
        return 0.0
    if not np.array_equal(np.isfinite(a), np.isfinite(b)) or not np.array_equal(a[~np.isfinite(b)], b[~np.isfinite(b)]):
        failures.append(f"{name}: non-finite entries differ")
    if not np.allclose(a, b, rtol=rtol, atol=atol):
        mx, rel = deviation(a, b)
        failures.append(f"{name}: max abs dev {mx:.3g} (max rel {rel:.3g}) beyond rtol {rtol}, atol {atol}")
    return deviation(a, b)[0]


@dataclass
class MatchResult:
    matched: int
    unmatched_actual: list[int]
    unmatched_expected: list[int]
    max_score_dev: float
    max_seg_dev: float


def match_detections(actual, expected, *, seg_tol: float, score_tol: float) -> MatchResult:
    """Match two (segments [N,2], scores [N], labels [N]) sets one-to-one: same label, every segment end within
    ``seg_tol`` and score within ``score_tol``. Order-insensitive, so near-tied scores may come in any order."""
    a_seg, a_sc, a_lb = (np.asarray(x) for x in actual)
    e_seg, e_sc, e_lb = (np.asarray(x) for x in expected)
    order = np.argsort(a_sc, kind="stable")
    keys = a_sc[order].astype(np.float64).tolist()
    used = np.zeros(a_sc.size, dtype=bool)
    unmatched_e, score_dev, seg_dev = [], 0.0, 0.0
    for j in range(e_sc.size):
        s = float(e_sc[j])
        lo = bisect.bisect_left(keys, s - score_tol)
        hi = bisect.bisect_right(keys, s + score_tol)
        best, best_d = -1, np.inf
        for pos in range(lo, hi):
            i = int(order[pos])
            if used[i] or a_lb[i] != e_lb[j]:
                continue
            d = float(np.abs(a_seg[i].astype(np.float64) - e_seg[j]).max())
            if d <= seg_tol and d < best_d:
                best, best_d = i, d
        if best < 0:
            unmatched_e.append(j)
            continue
        used[best] = True
        score_dev = max(score_dev, abs(float(a_sc[best]) - s))
        seg_dev = max(seg_dev, best_d)
    return MatchResult(int(used.sum()), np.flatnonzero(~used).tolist(), unmatched_e, score_dev, seg_dev)
