"""CuPy engine: every group of a batch (all videos x classes) in one launch of the grouped NMS kernel.

Same contract as ``nms_cpu.run_groups``. The host-side preparation is written against an array module
``xp`` and a ``launch(grid, block, args)`` callable, so the tests can drive the very same code with numpy
arrays and the kernel source compiled for the CPU (see ``tests/post/test_nms_kernel.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from unimd_lib.backend import cupy_module
from unimd_lib.post.nms_kernel import CUDA_SOURCE, KERNEL_NAME, MAX_THREADS

NVRTC_OPTIONS = ("--fmad=false", "-std=c++14")  # no contracted multiply-adds: float32 rounding as in numpy
Launch = Callable[[int, int, tuple], None]
_MAX_GRID = 2**31 - 1
_kernel: Any = None


def block_size(max_group: int) -> int:
    """Threads per block: a power of two in [32, MAX_THREADS], about a quarter of the longest group."""
    threads = 32
    while threads < MAX_THREADS and threads * 4 < max_group:
        threads *= 2
    return threads


def run_groups_with(
    xp: ModuleType,
    launch: Launch,
    x1: Any,
    x2: Any,
    sc: Any,
    starts: Any,
    sizes: Any,
    *,
    method: int,
    iou_threshold: float,
    sigma: float,
    min_score: float,
    max_keep: int,
) -> tuple[Any, Any]:
    """Prepare working buffers on ``xp``, launch one block per group, return ``(emit_item, emit_score)``."""
    total, groups = int(x1.shape[0]), int(sizes.shape[0])
    emit_item = xp.full(total, -1, np.int64)
    emit_sc = xp.full(total, -np.inf, np.float32)
    if total == 0 or groups == 0 or max_keep <= 0:
        return emit_item, emit_sc
    starts = xp.ascontiguousarray(starts, dtype=np.int64)
    sizes = xp.ascontiguousarray(sizes, dtype=np.int64)
    item = xp.arange(total, dtype=np.int64)
    owner = xp.searchsorted(starts, item, side="right") - 1
    args = (
        starts,
        sizes,
        np.int32(groups),
        xp.array(x1, dtype=np.float32, copy=True),  # the kernel works in place on its own copies
        xp.array(x2, dtype=np.float32, copy=True),
        xp.array(sc, dtype=np.float32, copy=True),
        (item - starts[owner]).astype(np.int32),
        xp.empty(total, np.int32),
        emit_item,
        emit_sc,
        np.int32(method),
        np.float32(iou_threshold),
        np.float32(sigma),
        np.float32(min_score),
        np.int32(min(int(max_keep), 2**31 - 1)),
    )
    launch(min(groups, _MAX_GRID), block_size(int(sizes.max())), args)
    return emit_item, emit_sc


def run_groups(x1: Any, x2: Any, sc: Any, starts: Any, sizes: Any, **params: Any) -> tuple[Any, Any]:
    """``nms_cpu.run_groups`` on CuPy arrays, as one kernel launch."""
    return run_groups_with(cupy_module(), _cupy_launch, x1, x2, sc, starts, sizes, **params)


def _cupy_launch(grid: int, block: int, args: tuple) -> None:
    global _kernel
    if _kernel is None:  # compiled on first use; CuPy caches the binary on disk
        cp = cupy_module()
        _kernel = cp.RawModule(code=CUDA_SOURCE, options=NVRTC_OPTIONS).get_function(KERNEL_NAME)
    _kernel((grid,), (block,), args)
