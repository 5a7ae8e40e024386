"""Query-dependent classification head ("dot", spec §3.7), shared by all levels and both tasks.

Per level: h = conv k3 (no bias) → LN → ReLU → conv k3 (no bias; no norm/act after it), both masked;
logit[b, k, t] = (⟨h[b, :, t], q_bk⟩ · w + b) · mask[b, t] with ONE scalar w and ONE scalar b for everything.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from unimd_lib.model.layers import ChannelLayerNorm, MaskedConv1d


class QueryClassificationHead(nn.Module):
    """Returns per level logits [Bt, K, T_l] for queries [Bt, K, E] of the videos ``video_index``."""

    def __init__(self, channels: int, kernel_size: int = 3, *, prior_prob: float | None = None):
        super().__init__()
        self.convs = nn.ModuleList(MaskedConv1d(channels, channels, kernel_size, bias=False) for _ in range(2))
        # norms.1 exists in the original but is never used (its parameters never get a gradient)
        self.norms = nn.ModuleList(ChannelLayerNorm(channels) for _ in range(2))
        # quirk §11.1: the original keeps b = 0 and ignores cls_prior_prob; prior_prob given = the intended init
        init_bias = 0.0 if prior_prob is None else -math.log((1.0 - prior_prob) / prior_prob)
        self.affine = ScalarAffine(init_bias)

    def features(self, x: torch.Tensor, mask: torch.Tensor, sep: torch.Tensor | None = None) -> torch.Tensor:
        """x [B, E, T], mask [B, 1, T]; ``sep`` zeroes level separators of packed levels (``model.levels``)."""
        h, _ = self.convs[0](x, mask)
        h = torch.relu(self.norms[0](h))
        if sep is not None:
            h = h * sep
        h, _ = self.convs[1](h, mask)
        return h

    def logits(self, h: torch.Tensor, mask: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
        """h [Bt, E, T] (already gathered per video), mask [Bt, 1, T], queries [Bt, K, E] → [Bt, K, T]."""
        return self.affine(torch.matmul(queries, h)) * mask


class ScalarAffine(nn.Module):
    """``x · weight + bias`` with one scalar weight (init 1) and one scalar bias, shared by everything."""

    def __init__(self, init_bias: float = 0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1))
        self.bias = nn.Parameter(torch.full((1,), float(init_bias)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight + self.bias
