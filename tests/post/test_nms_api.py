"""Public API: input types, the batch-of-videos entry points, empty input and clear errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from unimd_lib.backend import gpu_available
from unimd_lib.errors import DataError
from unimd_lib.post import batched_nms, batched_nms_flat, batched_nms_videos
from unimd_lib.post.nms import soft_nms

KW = dict(iou_threshold=0.1, min_score=0.001, max_seg_num=30, sigma=0.5, voting_thresh=0.75, backend="numpy")
MODES = [
    dict(use_soft_nms=True, multiclass=True),
    dict(use_soft_nms=False, multiclass=True),
    dict(use_soft_nms=True, multiclass=False),
    dict(use_soft_nms=False, multiclass=False),
    dict(use_soft_nms=True, multiclass=False, voting_thresh=0.0),
]


def synthetic_video(rng, n, n_classes=8, grid=100.0):
    centre, width = rng.uniform(0, grid, n), rng.uniform(1, grid / 3, n)
    segs = np.stack([centre - width / 2, centre + width / 2], axis=1).astype(np.float32)
    scores = (rng.uniform(0, 1, n) ** 3).astype(np.float32)
    scores[rng.random(n) < 0.2] = np.float32(0.25)  # ties
    return segs, scores, rng.integers(0, n_classes, n).astype(np.int64)


def assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("mode", MODES, ids=lambda m: "-".join(f"{k}={v}" for k, v in m.items()))
def test_torch_and_numpy_inputs_give_identical_results(mode):
    segs, scores, labels = synthetic_video(np.random.default_rng(0), 200)
    want = batched_nms(segs, scores, labels, **{**KW, **mode}, return_index=True)
    got = batched_nms(
        torch.from_numpy(segs), torch.from_numpy(scores), torch.from_numpy(labels), **{**KW, **mode}, return_index=True
    )
    assert_same(got, want)
    assert want[0].dtype == np.float32 and want[1].dtype == np.float32 and want[2].dtype == np.int64


@pytest.mark.parametrize("mode", MODES, ids=lambda m: "-".join(f"{k}={v}" for k, v in m.items()))
def test_batch_of_videos_equals_per_video_calls(mode):
    rng = np.random.default_rng(1)
    videos = [synthetic_video(rng, int(n)) for n in (0, 1, 57, 300, 5, 0, 120)]
    kw = {**KW, **mode, "return_index": True}
    batched = batched_nms_videos(videos, **kw)
    assert len(batched) == len(videos)
    for got, video in zip(batched, videos, strict=True):
        assert_same(got, batched_nms(*video, **kw))


def test_flat_api_accepts_interleaved_video_index():
    """Each video's items are taken in flat order (tie-breaking depends on input order, as in the original)."""
    rng = np.random.default_rng(2)
    videos = [synthetic_video(rng, n) for n in (80, 40, 0, 60)]
    vid = np.concatenate([np.full(len(v[1]), k) for k, v in enumerate(videos)])
    perm = rng.permutation(len(vid))
    flat = [np.concatenate([v[i] for v in videos])[perm] for i in range(3)]
    vid = vid[perm]
    out = batched_nms_flat(*flat, vid, num_videos=5, **KW, return_index=True)
    assert len(out) == 5 and len(out[4][1]) == 0  # trailing video without items
    for k in range(4):
        rows = np.flatnonzero(vid == k)
        want = batched_nms(*(a[rows] for a in flat), **KW, return_index=True)
        assert_same(out[k], (*want[:3], rows[want[3]]))


def test_float64_inputs_are_rounded_to_float32():
    segs, scores, labels = synthetic_video(np.random.default_rng(3), 100)
    got = batched_nms(segs.astype(np.float64), scores.astype(np.float64), labels.astype(np.int32), **KW)
    assert_same(got, batched_nms(segs, scores, labels, **KW))


@pytest.mark.parametrize("empty_segs", [np.zeros((0, 2), np.float32), np.zeros(0, np.float32), []])
def test_empty_input_gives_empty_output(empty_segs):
    segs, scores, labels = batched_nms(empty_segs, np.zeros(0, np.float32), np.zeros(0, np.int64), **KW)
    assert segs.shape == (0, 2) and scores.shape == (0,) and labels.shape == (0,)
    assert (segs.dtype, scores.dtype, labels.dtype) == (np.float32, np.float32, np.int64)
    assert batched_nms_videos([], **KW) == []


GOOD = (np.float32([[0, 1], [2, 3]]), np.float32([0.5, 0.4]), np.int64([0, 1]))


@pytest.mark.parametrize(
    ("segs", "scores", "labels", "match"),
    [
        (GOOD[0], np.float32([0.5]), GOOD[2], "segments but 1 scores"),
        (GOOD[0], GOOD[1], np.int64([0]), "labels"),
        (GOOD[0], np.float32([np.nan, 0.4]), GOOD[2], "NaN"),
        (GOOD[0], np.float32([np.inf, 0.4]), GOOD[2], "NaN or infinite"),
        (np.float32([[0, np.nan], [2, 3]]), GOOD[1], GOOD[2], "segs"),
        (np.float32([[0, 1, 2], [2, 3, 4]]), GOOD[1], GOOD[2], r"\[N, 2\]"),
        (np.float32([0, 1]), GOOD[1], GOOD[2], r"\[N, 2\]"),
        (np.float32([[1, 0], [2, 3]]), GOOD[1], GOOD[2], "start <= end"),
        (GOOD[0], GOOD[1], np.float32([0.5, 1]), "integers"),
        (GOOD[0], GOOD[1].reshape(2, 1), GOOD[2], "1-D"),
    ],
)
def test_bad_inputs_raise_clear_value_errors(segs, scores, labels, match):
    with pytest.raises(DataError, match=match) as err:
        batched_nms(segs, scores, labels, **KW)
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize(
    ("override", "match"),
    [
        (dict(backend="torch"), "unknown backend"),
        (dict(sigma=0.0), "sigma"),
        (dict(max_seg_num=-1), "max_seg_num"),
        (dict(iou_threshold=float("nan")), "iou_threshold"),
    ],
)
def test_bad_parameters_raise_value_errors(override, match):
    with pytest.raises(ValueError, match=match):
        batched_nms(*GOOD, **{**KW, **override})


def test_bad_video_index_and_soft_method():
    with pytest.raises(DataError, match="video_index"):
        batched_nms_flat(*GOOD, np.int64([0, 3]), num_videos=2, **KW)
    with pytest.raises(ValueError, match="method"):
        soft_nms(GOOD[0], GOOD[1], iou_threshold=0.1, sigma=0.5, min_score=0.001, method=3)


@pytest.mark.skipif(gpu_available(), reason="a GPU is present, so backend='cupy' is valid here")
def test_cupy_backend_without_a_device_says_why():
    with pytest.raises(RuntimeError, match="backend='cupy'"):
        batched_nms(*GOOD, **{**KW, "backend": "cupy"})


def test_package_import_stays_light():
    code = "import sys, unimd_lib.post as p; p.batched_nms; print('unimd_lib.post.nms_cuda' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_batch_api_names_the_bad_video():
    with pytest.raises(DataError, match=r"video 1: scores: contain NaN"):
        batched_nms_videos([GOOD, (GOOD[0], np.float32([np.nan, 1]), GOOD[2])], **KW)
