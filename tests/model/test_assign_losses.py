"""Label assignment and losses on small hand-made cases (expected values computed by hand from spec §4)."""

from __future__ import annotations

import math

import pytest
import torch

from unimd_lib.model.assign import assign_targets
from unimd_lib.model.losses import LossNormalizer, diou_loss_1d_sum, sigmoid_focal_loss_sum


def _points(n: int = 10, hi: float = 100.0) -> torch.Tensor:
    t = torch.arange(n, dtype=torch.float32)
    return torch.stack([t, torch.zeros(n), torch.full((n,), hi), torch.ones(n)], dim=1)


def test_center_sampling_and_offsets():
    # segment [2, 6]: centre 4, radius 1.5 → region (2.5, 5.5) → points 3, 4, 5 (strict inequalities)
    cls_t, reg_t = assign_targets(_points(), torch.tensor([[2.0, 6.0]]), torch.tensor([0]), 2)
    assert cls_t[:, 0].nonzero().flatten().tolist() == [3, 4, 5]
    assert cls_t[:, 1].sum() == 0
    assert reg_t[3:6, 0].tolist() == [[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]]
    assert torch.isinf(reg_t[0, 0]).all() and torch.isinf(reg_t[:, 1]).all()


def test_regression_range_is_inclusive_on_max_distance():
    # at t=3: max(left, right) = 3; range [0, 3] keeps it, [0, 2.9] drops it
    pts = _points(hi=3.0)
    assert assign_targets(pts, torch.tensor([[2.0, 6.0]]), torch.tensor([0]), 1)[0][3, 0] == 1
    pts[:, 2] = 2.9
    assert assign_targets(pts, torch.tensor([[2.0, 6.0]]), torch.tensor([0]), 1)[0][3, 0] == 0


def test_multi_label_and_last_segment_wins():
    segs = torch.tensor([[3.0, 5.0], [2.0, 6.0], [0.0, 9.0]])
    labels = torch.tensor([0, 0, 1])
    cls_t, reg_t = assign_targets(_points(), segs, labels, 2)
    # t=4 is positive for both labels (multi-label); label 1 (centre 4.5, region (3, 6)) also at t=5
    assert cls_t[4].tolist() == [1.0, 1.0] and cls_t[5, 1] == 1
    # both label-0 segments are positive at t=4: the LAST one ([2, 6]) sets the target, not the shortest
    assert reg_t[4, 0].tolist() == [2.0, 2.0]
    _, reg_short = assign_targets(_points(), segs, labels, 2, last_gt_wins=False)
    assert reg_short[4, 0].tolist() == [1.0, 1.0]


def test_stride_normalisation_zero_length_and_empty():
    pts = _points()
    pts[:, 3] = 2.0  # stride 2: radius 3, offsets divided by 2
    cls_t, reg_t = assign_targets(pts, torch.tensor([[2.0, 6.0], [5.0, 5.0]]), torch.tensor([0, 1]), 2)
    assert reg_t[3, 0].tolist() == [0.5, 1.5]
    assert cls_t[:, 1].sum() == 0  # a zero-length segment is never positive
    cls_e, reg_e = assign_targets(pts, torch.zeros(0, 2), torch.zeros(0, dtype=torch.long), 3)
    assert cls_e.sum() == 0 and torch.isinf(reg_e).all()


def test_focal_loss_values():
    x = torch.zeros(2)
    y = torch.tensor([1.0, 0.0])
    # p = 0.5: (1 - p_t)^2 = 0.25; α_t = 0.25 (positive) / 0.75 (negative); BCE = log 2
    expected = 0.25 * 0.25 * math.log(2) + 0.75 * 0.25 * math.log(2)
    assert float(sigmoid_focal_loss_sum(x, y)) == pytest.approx(expected, rel=1e-6)


def test_diou_loss_values():
    pred = torch.tensor([[1.0, 1.0], [2.0, 0.0]])
    target = torch.tensor([[1.0, 1.0], [1.0, 1.0]])
    # second row: inter 1, union 3, IoU 1/3, enclosing 3, ρ = ((0-2) - (1-1))/2 = -1 → 1 - 1/3 + 1/9
    assert float(diou_loss_1d_sum(pred, target)) == pytest.approx(1 - 1 / 3 + 1 / 9, rel=1e-6)


def test_loss_normaliser_shared_and_separate():
    norm = LossNormalizer(100)
    assert norm.update("tad", 29) == pytest.approx(92.9, abs=1e-12)
    assert norm.update("mr", 18) == 85.41000000000001  # README §5 worked example, double precision
    assert norm.update("mr", 0) == pytest.approx(0.9 * 85.41 + 0.1, abs=1e-12)  # max(num_pos, 1)
    sep = LossNormalizer(100, shared=False)
    sep.update("tad", 29)
    assert sep.update("mr", 18) == pytest.approx(91.8, abs=1e-12) and sep.get("tad") == pytest.approx(92.9)
    state = {k: v.clone() for k, v in sep.state_dict().items()}
    restored = LossNormalizer(100, shared=False)
    restored.load_state_dict(state)
    assert restored.get("mr") == sep.get("mr")
