"""The CuPy path on a real device (skipped without one): reference cases and equality with the CPU path."""

from __future__ import annotations

import numpy as np
import pytest

from tests.post.conftest import CASES, assert_matches_expected, call_kwargs
from tests.post.test_nms_api import MODES, synthetic_video
from unimd_lib.backend import cupy_module
from unimd_lib.post import batched_nms, batched_nms_videos

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize(("set_name", "config", "mode"), CASES, ids=["/".join(c) for c in CASES])
def test_gpu_matches_original(nms_ref, set_name, config, mode):
    segs, scores, labels = nms_ref["sets"][set_name]
    kwargs = call_kwargs(nms_ref, config, mode)
    out = batched_nms(segs, scores, labels, **kwargs, backend="cupy", return_index=True)
    exp = nms_ref["results"][set_name][config][mode]
    voting = kwargs["voting_thresh"] > 0 and not kwargs["multiclass"]
    assert_matches_expected(out, exp, voting=voting, ties_as_multisets="note" in exp)


def assert_gpu_equals_cpu(got, want):
    segs, scores, labels, rows = got
    assert rows.tolist() == want[3].tolist() and labels.tolist() == want[2].tolist()
    np.testing.assert_allclose(scores, want[1], rtol=1e-5, atol=0)
    np.testing.assert_allclose(segs, want[0], rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("mode", MODES, ids=lambda m: "-".join(f"{k}={v}" for k, v in m.items()))
def test_gpu_batch_equals_cpu(mode):
    rng = np.random.default_rng(11)
    videos = [synthetic_video(rng, int(n), n_classes=50) for n in rng.integers(0, 600, 64)]
    kw = dict(iou_threshold=0.1, min_score=0.001, max_seg_num=100, sigma=0.5, voting_thresh=0.75)
    kw.update(mode, return_index=True)
    gpu = batched_nms_videos(videos, **kw, backend="cupy")
    cpu = batched_nms_videos(videos, **kw, backend="numpy")
    for got, want in zip(gpu, cpu, strict=True):
        assert_gpu_equals_cpu(got, want)


@pytest.mark.parametrize("use_soft_nms", [True, False])
def test_gpu_groups_larger_than_a_block(use_soft_nms):
    segs, scores, labels = synthetic_video(np.random.default_rng(12), 6000, n_classes=2, grid=3000.0)
    kw = dict(iou_threshold=0.1, min_score=0.001, max_seg_num=2000, sigma=0.9, use_soft_nms=use_soft_nms)
    got = batched_nms(segs, scores, labels, **kw, backend="cupy", return_index=True)
    assert_gpu_equals_cpu(got, batched_nms(segs, scores, labels, **kw, backend="numpy", return_index=True))


def test_gpu_accepts_device_arrays():
    cp = cupy_module()
    segs, scores, labels = synthetic_video(np.random.default_rng(13), 300)
    kw = dict(iou_threshold=0.1, min_score=0.001, max_seg_num=100, return_index=True)
    got = batched_nms(cp.asarray(segs), cp.asarray(scores), cp.asarray(labels), **kw, backend="cupy")
    assert isinstance(got[0], np.ndarray)
    assert_gpu_equals_cpu(got, batched_nms(segs, scores, labels, **kw, backend="numpy"))
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA here: torch-on-GPU input not checked")
    t = [torch.as_tensor(a, device="cuda") for a in (segs, scores, labels)]
    assert_gpu_equals_cpu(
        batched_nms(*t, **kw, backend="cupy"), batched_nms(segs, scores, labels, **kw, backend="numpy")
    )
