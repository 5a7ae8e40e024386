"""Per-task training targets and loss sums over padded query batches (spec §4.1-4.4)."""

from __future__ import annotations

import torch

from unimd_lib.model.assign import assign_targets
from unimd_lib.model.losses import diou_loss_1d_sum, sigmoid_focal_loss_sum


def batch_targets(
    points: torch.Tensor,
    segments: list[torch.Tensor],
    labels: list[torch.Tensor],
    num_queries: list[int],
    k_max: int,
    **assign_kwargs,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Targets of every video of a task, padded to ``k_max`` queries: cls [Bt, P, K], reg [Bt, P, K, 2]."""
    cls_all, reg_all = [], []
    for segs, labs, k in zip(segments, labels, num_queries, strict=True):
        cls_t, reg_t = assign_targets(points, segs.to(points), labs.to(points.device), k, **assign_kwargs)
        if k < k_max:
            cls_t = torch.nn.functional.pad(cls_t, (0, k_max - k))
            reg_t = torch.cat([reg_t, reg_t.new_full((reg_t.shape[0], k_max - k, 2), float("inf"))], dim=1)
        cls_all.append(cls_t)
        reg_all.append(reg_t)
    return torch.stack(cls_all), torch.stack(reg_all)


def task_loss_sums(
    logits: torch.Tensor,
    offsets: torch.Tensor,
    gt_cls: torch.Tensor,
    gt_reg: torch.Tensor,
    valid_points: torch.Tensor,
    valid_queries: torch.Tensor,
    *,
    label_smoothing: float,
    smoothing_classes: torch.Tensor | float,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Focal-loss sum over valid (point, query) cells and DIoU sum over positive ones.

    logits [Bt, P, K], offsets [Bt, P, K, 2], gt_cls [Bt, P, K] (0/1), gt_reg [Bt, P, K, 2], valid_points
    [Bt, P] bool, valid_queries [Bt, K] bool; ``smoothing_classes`` is the C in ε/(C+1) (scalar, or [Bt]).
    Returns (cls_sum, reg_sum, num_pos).
    """
    valid = valid_points[:, :, None] & valid_queries[:, None, :]
    target = gt_cls
    if label_smoothing > 0:
        denom = torch.as_tensor(smoothing_classes, dtype=gt_cls.dtype, device=gt_cls.device)
        denom = denom.reshape(-1, 1, 1) if denom.ndim == 1 else denom
        target = gt_cls * (1 - label_smoothing) + label_smoothing / (denom + 1)
    cls_sum = sigmoid_focal_loss_sum(logits[valid], target.expand_as(logits)[valid])
    positive = (gt_cls > 0) & valid
    num_pos = int(positive.sum())
    # no positive: a zero that still depends on the offsets (the original's 0·Σpred)
    reg_sum = diou_loss_1d_sum(offsets[positive], gt_reg[positive]) if num_pos > 0 else offsets.sum() * 0.0
    return cls_sum, reg_sum, num_pos
