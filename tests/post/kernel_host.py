"""Run the CUDA kernel source on the CPU: g++ build behind ``cuda_shim.h`` and a launch callable for it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

from unimd_lib.post.nms_kernel import CUDA_SOURCE

HERE = Path(__file__).resolve().parent


def build_driver(workdir: Path) -> Path:
    """Compile kernel source + shim + driver into ``workdir``; raises with the compiler log on failure."""
    gxx = shutil.which("g++")
    assert gxx is not None
    kernel = workdir / "kernel.cu"
    kernel.write_text(CUDA_SOURCE)
    exe = workdir / "nms_driver"
    cmd = [gxx, "-std=c++17", "-O2", "-ffp-contract=off", "-pthread", "-Wall", "-Werror", f"-I{HERE}"]
    cmd += [f'-DKERNEL_FILE="{kernel}"', str(HERE / "kernel_driver.cpp"), "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, f"g++ failed:\n{proc.stderr}"
    return exe


class ShimLaunch:
    """``launch(grid, block, args)`` for ``nms_cuda.run_groups_with``: runs the driver with ``threads`` threads.

    ``threads`` replaces the block size the launcher picked (real threads are costly on a CPU); every
    launch's configuration is recorded in ``calls`` for inspection.
    """

    def __init__(self, exe: Path, workdir: Path, threads: int = 1):
        self.exe, self.workdir, self.threads = exe, workdir, threads
        self.calls: list[tuple[int, int, int]] = []

    def __call__(self, grid: int, block: int, args: tuple) -> None:
        starts, sizes, groups, x1, x2, sc, pos, _scratch, emit_item, emit_sc = args[:10]
        method, iou, sigma, min_score, max_keep = args[10:]
        self.calls.append((grid, block, int(groups)))
        d = self.workdir
        for name, arr, dtype in (
            ("starts.i64", starts, np.int64),
            ("sizes.i64", sizes, np.int64),
            ("x1.f32", x1, np.float32),
            ("x2.f32", x2, np.float32),
            ("sc.f32", sc, np.float32),
            ("pos.i32", pos, np.int32),
        ):
            assert arr.dtype == dtype, (name, arr.dtype)  # the kernel reads these exact types
            arr.tofile(d / name)
        floats = [float(np.float32(v)).hex() for v in (iou, sigma, min_score)]
        cmd = [str(self.exe), str(d), str(int(groups)), str(len(x1)), str(self.threads), str(int(method))]
        cmd += [*floats, str(int(max_keep))]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"kernel driver failed ({proc.returncode}): {proc.stderr}"
        assert emit_item.dtype == np.int64 and emit_sc.dtype == np.float32
        emit_item[:] = np.fromfile(d / "emit_item.i64", np.int64)
        emit_sc[:] = np.fromfile(d / "emit_sc.f32", np.float32)
