"""Sorting helpers shared by decoding and NMS, on numpy or CuPy: stable sorts and per-group score ranks."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np


def stable_argsort(xp: ModuleType, a: Any) -> Any:
    """Stable argsort on numpy or CuPy (CuPy's argsort is always stable and takes no ``kind``)."""
    return np.argsort(a, kind="stable") if xp is np else xp.argsort(a)


def group_score_key(xp: ModuleType, group: Any, score: Any) -> Any:
    """int64 key ordering items by ``group`` ascending, then float32 ``score`` descending.

    ``group`` must lie in [0, 2**31). The score part is an order-preserving integer image of ``-score``;
    ``0 - s`` maps -0.0 to +0.0 so that both zeros tie, as they do in a float comparison. A stable sort on
    the key therefore equals a stable sort by (group, -score): equal scores keep their input order.
    """
    bits = xp.subtract(np.float32(0), score.astype(np.float32, copy=False)).view(np.int32).astype(np.int64)
    rank = xp.where(bits >= 0, bits, -bits - 2**31 - 1)  # monotone in the float value, in [-2**31, 2**31)
    return group.astype(np.int64, copy=False) * 2**32 + (rank + 2**31)


def rank_in_group(xp: ModuleType, sorted_group: Any) -> Any:
    """Position of every item within its group, for ``sorted_group`` ascending (groups contiguous)."""
    first = xp.searchsorted(sorted_group, sorted_group, side="left")
    return xp.arange(len(sorted_group)) - first
