"""Decoding of head outputs and the grid → seconds mapping (spec §8.1, §8.3)."""

from __future__ import annotations

import numpy as np

from unimd_lib.post.decode import decode_level, decode_video, grid_to_seconds


def test_grid_to_seconds_worked_examples_and_clamp():
    # spec §6.1 step 6: Ego4D 18.25 → 10 s, Charades 58 → 10 s
    ego = grid_to_seconds(np.array([[18.25, -3.0]]), fps=30, feat_stride=16, num_frames=16, duration=480)
    assert ego[0, 0] == np.float32(10.0)
    assert ego[0, 1] == 0 and not np.signbit(ego[0, 1])  # clamped, +0.0 (the original yields -0.0)
    ch = grid_to_seconds(np.array([[58.0, 1000.0]]), fps=24, feat_stride=4, num_frames=16, duration=35.5)
    assert ch.tolist() == [[10.0, 35.5]]
    assert ch.dtype == np.float32


def test_decode_level_order_topk_offsets_and_duration_filter():
    # T=3 points at stride 2, K=2 classes; logits chosen so the flat (t, k) order matters
    logits = np.array([[2.0, -9.0], [0.0, 3.0], [1.0, 4.0]], dtype=np.float32)
    offsets = np.zeros((3, 2, 2), dtype=np.float32)
    offsets[1, 1] = [1.0, 0.5]
    offsets[2, 1] = [0.01, 0.01]  # length 0.04 grid units: dropped by duration_thresh 0.05
    offsets[0, 0] = [0.5, 2.0]
    points = np.array([[0, 0, 4, 2], [2, 0, 4, 2], [4, 0, 4, 2]], dtype=np.float32)
    mask = np.array([True, True, True])
    out = decode_level(logits, offsets, points, mask, pre_nms_thresh=0.001, pre_nms_topk=3, duration_thresh=0.05)
    # top-3 by score: (t=2,k=1) 0.982, (t=1,k=1) 0.953, (t=0,k=0) 0.881 → the first is too short
    assert out.labels.tolist() == [1, 0]
    np.testing.assert_allclose(out.segments, [[0.0, 3.0], [-1.0, 4.0]])
    np.testing.assert_allclose(out.scores, 1 / (1 + np.exp(-np.array([3.0, 2.0]))), rtol=1e-6)
    # masked points never score
    masked = decode_level(
        logits,
        offsets,
        points,
        np.array([True, False, False]),
        pre_nms_thresh=0.001,
        pre_nms_topk=10,
        duration_thresh=0.05,
    )
    assert masked.labels.tolist() == [0]


def test_decode_video_concatenates_levels():
    lv = (np.zeros((2, 1), np.float32), np.ones((2, 1, 2), np.float32))
    pts = np.array([[0, 0, 4, 1], [1, 0, 4, 1]], dtype=np.float32)
    out = decode_video(
        [lv[0], lv[0]],
        [lv[1], lv[1]],
        [pts, pts],
        [np.ones(2, bool)] * 2,
        pre_nms_thresh=0.001,
        pre_nms_topk=1,
        duration_thresh=0.05,
    )
    assert out.scores.size == 2 and out.segments.tolist() == [[-1.0, 1.0], [-1.0, 1.0]]
