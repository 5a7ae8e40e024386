"""Comparison helpers for the parity tests: array deviations (detections: ``unimd_lib.parity.compare``)."""

from __future__ import annotations

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
