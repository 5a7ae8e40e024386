"""Small array helpers that behave identically on numpy and CuPy.

Only operations whose results are exact (integer arithmetic, comparisons, gathers, stable sorts, IEEE
element-wise float ops) go through ``xp``; float *reductions* whose rounding depends on the summation order
are done on the host by the callers, so both backends give bit-identical metrics.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from unimd_lib.backend import to_numpy


def is_numpy(xp: ModuleType) -> bool:
    return xp is np


def stable_argsort(xp: ModuleType, a):
    """Stable ascending argsort (CuPy's argsort is always stable and rejects ``kind``)."""
    return np.argsort(a, kind="stable") if is_numpy(xp) else xp.argsort(a)


def repeat_index(xp: ModuleType, counts):
    """``np.repeat(arange(len(counts)), counts)`` without ``repeat`` (CuPy wants host repeat counts)."""
    ends = xp.cumsum(counts)
    total = int(ends[-1]) if len(ends) else 0
    return xp.searchsorted(ends, xp.arange(total, dtype=ends.dtype), side="right")


def scatter_min(xp: ModuleType, out, index, values) -> None:
    """``out[index] = min(out[index], values)`` with repeated indices (in place)."""
    if is_numpy(xp):
        np.minimum.at(out, index, values)
    else:  # pragma: no cover - needs a GPU
        import cupyx

        cupyx.scatter_min(out, index, values)


def scatter_max(xp: ModuleType, out, index, values) -> None:
    """``out[index] = max(out[index], values)`` with repeated indices (in place)."""
    if is_numpy(xp):
        np.maximum.at(out, index, values)
    else:  # pragma: no cover - needs a GPU
        import cupyx

        cupyx.scatter_max(out, index, values)


def first_in_run(xp: ModuleType, keys):
    """Boolean mask: True where ``keys[i]`` differs from ``keys[i-1]`` (start of each run of equal keys)."""
    flags = xp.ones(len(keys), dtype=bool)
    if len(keys) > 1:
        flags[1:] = keys[1:] != keys[:-1]
    return flags


def prefix_max(xp: ModuleType, a):
    """Inclusive running maximum of an integer array (exact on both backends)."""
    if is_numpy(xp):
        return np.maximum.accumulate(a)
    out = a.copy()  # Hillis-Steele scan: log2(n) vectorised steps (no ufunc.accumulate needed)
    shift = 1
    while shift < len(out):
        out[shift:] = xp.maximum(out[shift:], out[:-shift])
        shift *= 2
    return out


def host(a) -> np.ndarray:
    """Device → host copy (a no-op for numpy arrays)."""
    return to_numpy(a)
