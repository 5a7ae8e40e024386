"""The CUDA kernel checked without a GPU: NVRTC compiles it; compiled as C++ (g++ + shim) it matches.

The C++ build runs the real kernel source and the real host-side preparation of the CuPy path
(``nms_cuda.run_groups_with``) on numpy arrays, once with one thread (every reference case) and with
several real threads per block (barriers, block reductions, scans and the parallel compaction).
"""

from __future__ import annotations

import functools
import shutil

import numpy as np
import pytest

from tests.post.conftest import CASES, assert_matches_expected, call_kwargs
from tests.post.kernel_host import ShimLaunch, build_driver
from unimd_lib.post import nms_cpu, nms_cuda
from unimd_lib.post.nms import batched_nms, batched_nms_flat
from unimd_lib.post.nms_kernel import CUDA_SOURCE, MAX_THREADS

INSTALL_HINT = "pip install 'cupy-cuda12x>=14' 'cuda-toolkit[nvrtc]==12.*'"


@pytest.mark.parametrize("arch", ["compute_75", "compute_80", "compute_90"])
def test_kernel_compiles_with_nvrtc(arch):
    nvrtc = pytest.importorskip("cupy_backends.cuda.libs.nvrtc", reason=f"CuPy is not installed ({INSTALL_HINT})")
    try:
        nvrtc.getVersion()
    except Exception as err:  # noqa: BLE001 - any loader failure means the NVRTC library is absent
        pytest.skip(f"NVRTC library not available ({INSTALL_HINT}): {err}")
    prog = nvrtc.createProgram(CUDA_SOURCE, "unimd_nms.cu", [], [])
    try:
        nvrtc.compileProgram(prog, [f"-arch={arch}", *nvrtc_options()])
    except nvrtc.NVRTCError as err:
        pytest.fail(f"NVRTC rejected the kernel: {err}\n{nvrtc.getProgramLog(prog)}")
    assert b"unimd_nms_groups" in _as_bytes(nvrtc.getPTX(prog))
    assert "warning" not in _as_str(nvrtc.getProgramLog(prog)).lower()


def nvrtc_options():
    return nms_cuda.NVRTC_OPTIONS


def _as_bytes(x):
    return x if isinstance(x, bytes) else str(x).encode()


def _as_str(x):
    return x.decode(errors="replace") if isinstance(x, bytes) else str(x)


@pytest.fixture(scope="session")
def driver(tmp_path_factory):
    if shutil.which("g++") is None:
        pytest.skip("g++ not found: the CPU logic check of the CUDA kernel needs a C++17 compiler")
    return build_driver(tmp_path_factory.mktemp("nms_kernel_build"))


def shim_engine(driver, tmp_path, threads=1):
    launch = ShimLaunch(driver, tmp_path, threads)
    return functools.partial(nms_cuda.run_groups_with, np, launch), launch


@pytest.mark.parametrize(("set_name", "config", "mode"), CASES, ids=["/".join(c) for c in CASES])
def test_kernel_matches_original(nms_ref, driver, tmp_path, set_name, config, mode):
    segs, scores, labels = nms_ref["sets"][set_name]
    kwargs = call_kwargs(nms_ref, config, mode)
    engine, launch = shim_engine(driver, tmp_path)
    (out,) = batched_nms_flat(segs, scores, labels, None, **kwargs, backend="numpy", return_index=True, engine=engine)
    exp = nms_ref["results"][set_name][config][mode]
    assert_matches_expected(
        out, exp, voting=kwargs["voting_thresh"] > 0 and not kwargs["multiclass"], ties_as_multisets="note" in exp
    )
    for grid, block, groups in launch.calls:  # launch configuration the CuPy path would use
        assert grid == groups and block & (block - 1) == 0 and 32 <= block <= MAX_THREADS


@pytest.mark.parametrize("threads", [2, 8])
@pytest.mark.parametrize(
    ("set_name", "mode"),
    [
        ("medium_20cls", "soft_gaussian_multiclass"),
        ("medium_20cls", "hard_agnostic_novote"),
        ("single_class_dense", "soft_gaussian_agnostic_novote"),
    ],
)
def test_kernel_multithreaded_equals_cpu(nms_ref, driver, tmp_path, threads, set_name, mode):
    segs, scores, labels = nms_ref["sets"][set_name]
    kwargs = call_kwargs(nms_ref, "ego4d", mode)
    engine, _ = shim_engine(driver, tmp_path, threads)
    (got,) = batched_nms_flat(segs, scores, labels, None, **kwargs, backend="numpy", return_index=True, engine=engine)
    want = batched_nms(segs, scores, labels, **kwargs, backend="numpy", return_index=True)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)  # bit-identical: same float32 operations in the same order


def tie_heavy_groups(seed, n_groups=12, max_size=40):
    """Grouped layout with many equal scores, so slot order decides the ties."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(0, max_size, n_groups)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    total = int(sizes.sum())
    centre = rng.uniform(0, 60, total)
    width = rng.uniform(0.5, 25, total)
    x1 = (centre - width / 2).astype(np.float32)
    x2 = (centre + width / 2).astype(np.float32)
    levels = np.array([0.6, 0.3, 0.3, 0.1, 0.02, 0.004, 0.0009], np.float32)
    return x1, x2, rng.choice(levels, total), starts, sizes.astype(np.int64)


@pytest.mark.parametrize("threads", [1, 4])
@pytest.mark.parametrize(
    ("method", "min_score", "max_keep"),
    [(0, 0.0, 1000), (0, 0.01, 1000), (1, 0.001, 1000), (2, 0.001, 1000), (2, 0.05, 5), (3, 0.0, 1000), (3, 0.0, 3)],
)
def test_kernel_engine_equals_cpu_engine_with_ties(driver, tmp_path, threads, method, min_score, max_keep):
    engine, _ = shim_engine(driver, tmp_path, threads)
    for seed in range(3):
        x1, x2, sc, starts, sizes = tie_heavy_groups(seed)
        params = dict(method=method, iou_threshold=0.3, sigma=0.5, min_score=min_score, max_keep=max_keep)
        want_item, want_sc = nms_cpu.run_groups(x1, x2, sc, starts, sizes, **params)
        got_item, got_sc = engine(x1, x2, sc, starts, sizes, **params)
        np.testing.assert_array_equal(got_item, want_item)
        np.testing.assert_array_equal(got_sc, want_sc)


@pytest.mark.parametrize("method", [2, 3])
def test_kernel_with_a_full_warp_of_threads(driver, tmp_path, method):
    """32 threads (the smallest block the CuPy path launches), one tie-heavy batch: slow on a CPU, so just one."""
    engine, _ = shim_engine(driver, tmp_path, 32)
    x1, x2, sc, starts, sizes = tie_heavy_groups(5, n_groups=6, max_size=80)
    params = dict(method=method, iou_threshold=0.3, sigma=0.5, min_score=0.01 if method == 2 else 0.0, max_keep=1000)
    want = nms_cpu.run_groups(x1, x2, sc, starts, sizes, **params)
    for got, exp in zip(engine(x1, x2, sc, starts, sizes, **params), want, strict=True):
        np.testing.assert_array_equal(got, exp)


def test_block_size_is_a_power_of_two_in_range():
    sizes = [1, 32, 128, 129, 500, 1024, 10**6]
    blocks = [nms_cuda.block_size(s) for s in sizes]
    assert all(b & (b - 1) == 0 and 32 <= b <= MAX_THREADS for b in blocks)
    assert blocks == sorted(blocks) and blocks[0] == 32 and blocks[-1] == MAX_THREADS
