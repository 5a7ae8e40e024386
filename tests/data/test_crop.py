"""Training-time crop / truncation (spec §6.1 step 7) on hand-made records."""

from __future__ import annotations

import numpy as np
import pytest

from unimd_lib.data.crop import MAX_TRIALS, crop_length, random_crop
from unimd_lib.data.record import TaskQueries, VideoQueries


def make(length: int, tad=None, mr=None, stride=16.0, frames=16.0) -> VideoQueries:
    feats = np.tile(np.arange(length, dtype=np.float32), (3, 1))  # column t holds t: shows the window
    return VideoQueries("v", feats, 30.0, length * stride / 30, stride, frames, tad=tad, mr=mr)


def task(segments, labels, k=4) -> TaskQueries:
    return TaskQueries(
        embeddings=np.eye(k, 5, dtype=np.float32),
        texts=[f"q{i}" for i in range(k)],
        segments=np.asarray(segments, np.float32).reshape(-1, 2),
        labels=np.asarray(labels, np.int64),
    )


def crop(video, seed=0, max_seq_len=64, trunc_thresh=0.5, crop_ratio=(0.9, 1.0)):
    return random_crop(
        video, np.random.default_rng(seed), max_seq_len=max_seq_len, trunc_thresh=trunc_thresh, crop_ratio=crop_ratio
    )


def window_start(out: VideoQueries) -> int:
    return int(out.feats[0, 0])


def test_crop_length_range_for_short_videos():
    rng = np.random.default_rng(0)
    # T = 50: [max(round(45), 1), min(round(50), 50)] = [45, 50]
    lengths = {crop_length(rng, 50, 64, (0.9, 1.0)) for _ in range(500)}
    assert lengths == set(range(45, 51))
    # Python's round is half-to-even: T = 25 → round(22.5) = 22
    assert min(crop_length(rng, 25, 64, (0.9, 1.0)) for _ in range(500)) == 22
    assert crop_length(rng, 100, 64, (0.9, 1.0)) == 64  # longer than max_seq_len → exactly max_seq_len
    assert crop_length(rng, 50, 64, None) == 50


def test_no_crop_when_the_drawn_length_is_the_whole_video():
    v = make(50, tad=task([[10, 20]], [1]))
    assert crop(v, crop_ratio=(1.0, 1.0)) is v


def test_long_video_is_cut_to_max_seq_len_and_segments_shift():
    v = make(200, tad=task([[100, 110], [0, 190]], [1, 2]))
    for seed in range(20):
        out = crop(v, seed=seed)
        st = window_start(out)
        assert out.length == 64 and np.array_equal(out.feats[0], np.arange(st, st + 64))
        # every surviving segment keeps ≥ half of its length inside [st − 0.5, st + 64 + 0.5]
        assert len(out.tad.segments) >= 1
        for (a, b), lab in zip(out.tad.segments, out.tad.labels):
            orig = {1: (100, 110), 2: (0, 190)}[int(lab)]
            assert -0.5 <= a <= b <= 64.5
            assert (b - a) / (orig[1] - orig[0]) >= 0.5
            assert a == pytest.approx(max(orig[0], st - 0.5) - st)


def test_hand_case_window_and_offset():
    # T = 100 → 64; segment [10, 20]: kept iff the clipped part ≥ 5, i.e. st ≤ 15.5 (right side is free)
    v = make(100, tad=task([[10, 20]], [0]))
    out = crop(v, seed=1)
    st = window_start(out)
    assert st <= 15  # the first window that keeps it; some trial succeeds long before 200
    np.testing.assert_allclose(out.tad.segments, [[max(10, st - 0.5) - st, 20 - st]])


def test_charades_offset_is_two_grid_units():
    # stride 4, 16 frames → offset 2: segment [0, 8] is clipped to [max(0, st − 2), 8]; kept iff st ≤ 6
    v = make(100, tad=task([[0, 8]], [0]), stride=4.0)
    starts = set()
    for seed in range(40):
        out = crop(v, seed=seed)
        st = window_start(out)
        assert st <= 6
        np.testing.assert_allclose(out.tad.segments, [[max(0, st - 2) - st, 8 - st]])
        starts.add(st)
    assert starts & {1, 2} and starts & {3, 4, 5, 6}  # both sides of the offset were exercised


def test_mr_queries_are_never_filtered_and_tasks_share_the_window():
    tad = task([[5, 10], [150, 160]], [0, 3])
    mr = task([[8, 12], [170, 180], [3, 3]], [0, 1, 2], k=3)
    v = make(200, tad=tad, mr=mr)
    for seed in range(10):
        out = crop(v, seed=seed)
        st = window_start(out)
        assert out.mr.embeddings is mr.embeddings and out.mr.texts == mr.texts  # all 3 queries stay
        assert 2 not in out.mr.labels  # zero-length segments always drop (0/0 is not ≥ thresh)
        kept = {int(lab): seg for lab, seg in zip(out.mr.labels, out.mr.segments)}
        if 0 in kept:  # the same shift as the TAD task: one window for both
            assert kept[0][0] == pytest.approx(max(8, st - 0.5) - st)
        assert len(out.tad.segments) + len(out.mr.segments) >= 1


def test_after_200_failed_trials_the_last_window_is_used():
    # only a zero-length segment: no window can keep it, so all trials fail and the video is still cut
    v = make(120, mr=task([[40, 40]], [0], k=1))
    rng = np.random.default_rng(5)
    out = random_crop(v, rng, max_seq_len=64, trunc_thresh=0.5, crop_ratio=(0.9, 1.0))
    assert out.length == 64 and len(out.mr.segments) == 0 and out.mr.num_queries == 1
    # it consumed exactly MAX_TRIALS start draws: the generator is where 200 draws leave it
    ref = np.random.default_rng(5)
    for _ in range(MAX_TRIALS):
        ref.integers(0, 120 - 64 + 1)
    assert rng.integers(1 << 30) == ref.integers(1 << 30)


def test_video_without_segments_only_bounded():
    short, long_ = make(40, tad=task([], [])), make(100, tad=task([], []))
    assert crop(short) is short
    assert crop(long_).length == 64


def test_same_generator_state_same_crop():
    v = make(300, tad=task([[10, 200]], [1]))
    a, b = crop(v, seed=7), crop(v, seed=7)
    np.testing.assert_array_equal(a.feats, b.feats)
    np.testing.assert_array_equal(a.tad.segments, b.tad.segments)
