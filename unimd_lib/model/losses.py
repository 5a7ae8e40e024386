"""Sigmoid focal loss, 1-D DIoU loss and the EMA loss normaliser (spec §4.2-4.4)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

NORMALIZER_MOMENTUM = 0.9


def sigmoid_focal_loss_sum(
    logits: torch.Tensor, targets: torch.Tensor, alpha: float = 0.25, gamma: float = 2.0
) -> torch.Tensor:
    """Σ α_t (1 − p_t)^γ BCE(x, y) with p = σ(x), p_t = p·y + (1−p)(1−y), α_t = α·y + (1−α)(1−y)."""
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * ((1 - p_t) ** gamma)
    alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
    return (alpha_t * loss).sum()


def diou_loss_1d_sum(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Σ 1 − IoU + (ρ / c)² over rows of (left, right) offsets [N, 2] (both non-negative)."""
    lp, rp = pred[:, 0], pred[:, 1]
    lg, rg = target[:, 0], target[:, 1]
    inter = torch.min(lp, lg) + torch.min(rp, rg)
    union = (lp + rp) + (lg + rg) - inter
    iou = inter / union.clamp(min=eps)
    len_c = torch.max(lp, lg) + torch.max(rp, rg)
    rho = 0.5 * (rp - lp - rg + lg)
    return (1.0 - iou + torch.square(rho / len_c.clamp(min=eps))).sum()


class LossNormalizer(nn.Module):
    """EMA of the number of positives: N ← 0.9·N + 0.1·max(num_pos, 1) (spec §4.4).

    ``value`` [2] float64: slot 0 is the normaliser shared by TAD then MR (the original, quirk §11.4), or the
    TAD one when ``shared`` is False, slot 1 the MR one. Double precision like the original's Python float;
    a persistent buffer so that a checkpoint of our layout resumes it exactly (the original does not save
    it: loading an original checkpoint starts from ``init``).
    """

    def __init__(self, init: float, shared: bool = True):
        super().__init__()
        self.init = float(init)
        self.shared = shared
        self.register_buffer("value", torch.full((2,), float(init), dtype=torch.float64))

    def slot(self, task: str) -> int:
        return 0 if self.shared or task == "tad" else 1

    def update(self, task: str, num_pos: int) -> float:
        """Update with ``task``'s positive count of this batch; returns the new value (divides the losses)."""
        i = self.slot(task)
        new = NORMALIZER_MOMENTUM * float(self.value[i]) + (1 - NORMALIZER_MOMENTUM) * max(int(num_pos), 1)
        self.value[i] = new
        return new

    def get(self, task: str = "tad") -> float:
        return float(self.value[self.slot(task)])

    def reset(self) -> None:
        self.value.fill_(self.init)
