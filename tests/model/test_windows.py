"""Sliding-window inference: the windows tile the video with every point owned once; on a video that fits
one window the result is single-pass inference exactly; memory does not depend on the video's length."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unimd_lib.config.model import ModelConfig
from unimd_lib.data.collate import collate
from unimd_lib.data.record import TaskQueries, VideoQueries
from unimd_lib.errors import ConfigError
from unimd_lib.model.unimd import UniMD
from unimd_lib.model.windows import fits_single_pass, owned_ranges, predict_windows, window_starts

C_IN, K_TAD, E, T_MAX = 24, 4, 16, 64


def _video(length: int, seed: int = 0) -> VideoQueries:
    rng = np.random.default_rng(seed)
    segs = np.sort(rng.uniform(0, length, (3, 2)), axis=1).astype(np.float32)
    tad = TaskQueries(rng.standard_normal((K_TAD, E)).astype(np.float32), list("abcd"), segs, np.arange(3) % K_TAD)
    mr = TaskQueries(rng.standard_normal((2, E)).astype(np.float32), ["q0", "q1"], segs[:2], np.arange(2))
    feats = rng.standard_normal((C_IN, length)).astype(np.float32)
    return VideoQueries("v", feats, 30.0, length * 16 / 30, 16.0, 16.0, tad=tad, mr=mr)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = UniMD(ModelConfig.small(C_IN, K_TAD, T_MAX, channels=E))
    with torch.no_grad():  # non-trivial BatchNorm statistics and scales, as after training
        for p in m.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return m.eval()


def test_windows_tile_the_video_and_own_every_point_once():
    assert window_starts(50, 64, 32) == [0]
    starts = window_starts(1000, 64, 32)
    assert starts[0] == 0 and starts[-1] == 1000 - 64 and all(b - a <= 32 for a, b in zip(starts, starts[1:]))
    owned = owned_ranges(starts, 64)
    points = np.arange(1000)
    owners = [[i for i, (lo, hi) in enumerate(owned) if lo <= p < hi] for p in points]
    assert all(len(o) == 1 for o in owners)
    # each point is answered by a window that contains it with context on both sides (here >= 16 steps)
    for p, (i,) in zip(points, owners):
        s = starts[i]
        assert s <= p < s + 64
        if 0 < i < len(starts) - 1:
            assert p - s >= 16 and s + 64 - p > 16
    with pytest.raises(ConfigError, match="stride"):
        window_starts(1000, 64, 65)


@pytest.mark.parametrize(("length", "window"), [(40, None), (64, None), (150, 160)])
def test_a_video_that_fits_one_window_gives_single_pass_results_exactly(model, length, window):
    video = _video(length)
    single = model.predict(collate([video], max_seq_len=T_MAX, training=False))[0]
    windowed = predict_windows(model, video, window=window)
    assert set(windowed) == set(single) == {"tad", "mr"}
    for task in single:
        for a, b in zip(single[task], windowed[task], strict=True):
            np.testing.assert_array_equal(a, b)
        assert len(single[task].scores) > 0


def test_long_video_detections_cover_the_whole_video_in_video_time(model):
    length = 30 * T_MAX + 7
    video = _video(length, seed=1)
    assert not fits_single_pass(model, length, T_MAX)  # single pass would overflow the point buffer
    dets = predict_windows(model, video, stride=T_MAX // 4, batch_size=3)
    segs = dets["tad"].segments
    assert segs.min() >= 0 and segs.max() <= video.duration
    assert segs.mean(axis=1).max() > 0.9 * video.duration  # detections reach the end, not only window 0
    assert len(dets["tad"].scores) > int(model.cfg.test_cfg.max_seg_num)  # the cap scales with the length
