"""Exact semantics on hand-made inputs (answers worked out by hand from METRICS.md §6 / spec §8.2) and the
vectorised engine against a plain sequential re-statement on tie-heavy random groups."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.post.reference import hard_nms_seq, soft_nms_seq
from unimd_lib.post import nms_cpu
from unimd_lib.post.nms import batched_nms, hard_nms, soft_nms

SOFT = dict(iou_threshold=0.1, min_score=0.001, max_seg_num=100, sigma=0.5, backend="numpy", return_index=True)


def run(segs, scores, labels=None, **kw):
    labels = np.zeros(len(scores), np.int64) if labels is None else labels
    return batched_nms(np.asarray(segs, np.float32), np.asarray(scores, np.float32), labels, **{**SOFT, **kw})


def test_gaussian_decay_of_an_identical_segment():
    # IoU of [0, 10] with itself is ~1, so the runner-up is scaled by exp(-1 / 0.5) = e**-2.
    _, scores, _, idx = run([[0, 10], [0, 10]], [0.9, 0.8])
    assert idx.tolist() == [0, 1]
    np.testing.assert_allclose(scores, [0.9, 0.8 * math.exp(-2)], rtol=1e-6)


def test_first_maximum_in_current_array_order_after_the_swap():
    # Step 0 swaps Z (slot 2) with X (slot 0): the array is [Z, Y, X], so the 0.3 tie goes to Y.
    _, _, _, idx = run([[0, 10], [20, 30], [40, 50]], [0.3, 0.3, 0.9])
    assert idx.tolist() == [2, 1, 0]


def test_removed_item_is_replaced_by_the_last_one():
    # B overlaps A fully and falls to 0.002 * e**-2 < 0.001: the last item D moves into B's slot,
    # so the array is [A, D, C] and the C/D tie at 0.5 goes to D.
    _, scores, _, idx = run([[0, 10], [0, 10], [20, 30], [40, 50]], [0.9, 0.002, 0.5, 0.5])
    assert idx.tolist() == [0, 3, 2]
    np.testing.assert_allclose(scores, [0.9, 0.5, 0.5])


def test_selected_item_is_never_checked_against_min_score():
    segs, scores = [[0, 10], [30, 40], [60, 70]], [0.0005, 0.0004, 0.0002]
    assert run(segs, scores)[3].tolist() == [0]  # soft: the first pick survives, the rest are dropped
    assert run(segs, scores, use_soft_nms=False)[3].tolist() == []  # hard: score > min_score first


def test_hard_nms_suppresses_at_threshold_and_breaks_ties_by_input_order():
    # [0, 10] vs [5, 15]: IoU = 5 / 15 = 1/3 >= 0.3 -> suppressed. Equal scores: input order.
    idx = hard_nms(
        np.float32([[50, 60], [0, 10], [5, 15], [80, 90]]), np.float32([0.5, 0.5, 0.4, 0.5]), iou_threshold=0.3
    )
    assert idx.tolist() == [0, 1, 3]


def test_linear_and_vanilla_only_act_at_or_above_the_threshold():
    segs = np.float32([[0, 10], [5, 15], [9, 19]])  # IoU with the first: 1/3 and 1/19; second vs third: 3/7
    scores = np.float32([0.9, 0.6, 0.5])
    inds, dets = soft_nms(segs, scores, iou_threshold=0.2, sigma=0.5, min_score=0.001, method=1)
    assert inds.tolist() == [0, 2, 1]  # 0.6 * (1 - 1/3) = 0.4 falls below 0.5, then * (1 - 3/7)
    np.testing.assert_allclose(dets[:, 2], [0.9, 0.5, 0.4 * 4 / 7], rtol=1e-5)
    inds, _ = soft_nms(segs, scores, iou_threshold=0.2, sigma=0.5, min_score=0.001, method=0)
    assert inds.tolist() == [0, 2]  # zeroed, then dropped below min_score


def test_segment_voting_weighted_mean():
    # Hard NMS keeps [0, 10]; its neighbour [1, 11] (IoU 9/11 >= 0.75) votes with weight 0.6 * 9/11,
    # itself with 0.9 * 1: refined = [6/17, 176/17].
    segs, scores, labels, idx = run(
        [[0, 10], [1, 11]], [0.9, 0.6], use_soft_nms=False, multiclass=False, voting_thresh=0.75
    )
    assert idx.tolist() == [0]
    np.testing.assert_allclose(segs, [[6 / 17, 176 / 17]], atol=1e-5)
    plain = run([[0, 10], [1, 11]], [0.9, 0.6], use_soft_nms=False, multiclass=True, voting_thresh=0.75)
    np.testing.assert_array_equal(plain[0], [[0, 10]])  # multiclass: voting never applies


def test_per_class_then_global_cap_and_class_order_for_ties():
    segs = [[0, 10], [20, 30], [40, 50], [60, 70]]
    out = run(segs, [0.5, 0.7, 0.5, 0.6], np.array([3, 1, 1, 3]), max_seg_num=3)
    assert out[3].tolist() == [1, 3, 2]  # 0.7, 0.6, then the 0.5 tie in class order (1 before 3), capped at 3


def random_groups(seed, n_groups=6, max_size=30):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(0, max_size, n_groups).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    total = int(sizes.sum())
    centre, width = rng.uniform(0, 50, total), rng.uniform(0.5, 20, total)
    x1, x2 = (centre - width / 2).astype(np.float32), (centre + width / 2).astype(np.float32)
    levels = np.array([0.5, 0.3, 0.2, 0.05, 0.01, 0.002, 0.0005], np.float32)
    scores = rng.choice(levels, total) if seed % 2 else rng.uniform(0, 1, total).astype(np.float32)
    return x1, x2, scores, starts, sizes


@pytest.mark.parametrize("method", [0, 1, 2, 3])
@pytest.mark.parametrize(("min_score", "max_keep"), [(0.0, 1000), (0.001, 1000), (0.1, 1000), (0.001, 4)])
def test_vectorised_engine_equals_sequential_loop(method, min_score, max_keep):
    for seed in range(8):
        x1, x2, sc, starts, sizes = random_groups(seed)
        item, emitted = nms_cpu.run_groups(
            x1, x2, sc, starts, sizes, method=method, iou_threshold=0.3, sigma=0.5,
            min_score=min_score if method != 3 else 0.0, max_keep=max_keep,
        )  # fmt: skip
        for s0, n in zip(starts, sizes, strict=True):
            sl = slice(s0, s0 + n)
            if method == 3:
                want = hard_nms_seq(x1[sl], x2[sl], sc[sl], iou_threshold=0.3, min_score=0.0)[:max_keep]
                want_sc = [sc[s0 + k] for k in want]
            else:
                want, want_sc = soft_nms_seq(
                    x1[sl], x2[sl], sc[sl], iou_threshold=0.3, sigma=0.5, min_score=min_score, method=method
                )
                want, want_sc = want[:max_keep], want_sc[:max_keep]
            got = item[sl][item[sl] >= 0] - s0
            assert got.tolist() == want
            np.testing.assert_array_equal(emitted[s0 : s0 + len(got)], np.float32(want_sc))
