"""Which array backends run here, and how the benchmarks time them (median of repeats after warm-up runs)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from unimd_lib.backend import cupy_module, gpu_available


@dataclass(frozen=True)
class GpuStatus:
    available: bool
    message: str


def gpu_status() -> GpuStatus:
    """Whether the CuPy paths run here, with a one-line explanation for people reading the notebook."""
    cp = cupy_module()
    if cp is None:
        return GpuStatus(
            False, "CuPy is not installed: CPU only (install the `gpu` or `gpu13` extra on a CUDA machine)"
        )
    if not gpu_available():
        return GpuStatus(False, "CuPy found no usable CUDA device: CPU only")
    props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
    name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    runtime = cp.cuda.runtime.runtimeGetVersion()
    return GpuStatus(True, f"GPU path on: {name}, CuPy {cp.__version__}, CUDA runtime {runtime}")


def default_backends() -> tuple[str, ...]:
    return ("numpy", "cupy") if gpu_available() else ("numpy",)


def timed(fn: Callable[[], Any], repeats: int, *, warmup: int = 0) -> tuple[Any, float]:
    """(last result, median wall seconds of ``repeats`` runs) after ``warmup`` untimed runs."""
    for _ in range(warmup):
        fn()
    times, out = [], None
    for _ in range(max(1, int(repeats))):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return out, float(np.median(times))
