"""1-D BiFPN neck with ConvNeXt nodes (``bifpn_convnext``, spec §3.5): stacked layers over 6 levels.

Level l here is P(l+3) in the original. Per layer, with fast-normalised fusion w = relu(α) / (Σ relu(α) + 1e-4),
Swish = x·σ(x), Up = nearest ×2, Down = max-pool(k7, s2, p3) × down-sampled mask:

* top-down, l = 4..0:  td_l = Block(Swish(w0·in_l + w1·Up(td_{l+1})))   (td_5 = in_5; td_0 is the level-0 output)
* bottom-up, l = 1..5: out_l = Block(Swish(w0·in'_l + w1·td_l + w2·Down(out_{l-1}))) for l = 1..3,
  out_4 = Block(Swish(w0·in'_4 + w1·Down(out_3))) (td_4 is not used), out_5 = Block(Swish(w0·in_5 + w1·Down(out_4))).

In the first layer in_l = BN(conv1x1(P_l)) and in'_l (l = 1..4) is a second, independent projection; later
layers take the previous layer's outputs as in_l = in'_l.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from unimd_lib.model.convnext import ConvNeXtBlock
from unimd_lib.model.layers import MaskedConv1d

FUSION_EPS = 1e-4
NUM_LEVELS = 6


class MaskedBatchNorm1d(nn.BatchNorm1d):
    """BatchNorm1d (momentum 0.01, eps 1e-3 as in the original) with an optional valid-positions-only mode.

    ``include_padding=True`` is the original (spec §11.9): statistics over B×T including padded positions,
    output not re-masked. ``False`` computes the batch statistics over valid positions and re-masks the output.
    ``global_stats`` (set by data-parallel training) takes the training statistics over the global batch of
    all processes, through a differentiable all-reduce (works with gloo on CPUs, unlike SyncBatchNorm).
    """

    def __init__(self, channels: int, include_padding: bool = True):
        super().__init__(channels, eps=1e-3, momentum=0.01)
        self.include_padding = include_padding
        self.global_stats = False

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        distributed = self.training and self.global_stats and dist.is_initialized() and dist.get_world_size() > 1
        if not distributed and (self.include_padding or mask is None):
            return super().forward(x)
        if not self.training:
            return super().forward(x) * mask
        weight = torch.ones_like(x[:, :1]) if self.include_padding or mask is None else mask
        mean, var, n = _batch_moments(x, weight, distributed)
        with torch.no_grad():
            self.num_batches_tracked.add_(1)
            self.running_mean.lerp_(mean, self.momentum)
            self.running_var.lerp_(var * n / (n - 1), self.momentum)
        y = (x - mean[:, None]) * torch.rsqrt(var[:, None] + self.eps)
        y = y * self.weight[:, None] + self.bias[:, None]
        return y if self.include_padding or mask is None else y * weight


class _SumOverProcesses(torch.autograd.Function):
    """All-reduce (sum) whose backward is the all-reduce of the gradients: every process's loss depends on the
    summed statistics, so each input's gradient is the sum of what all processes send back."""

    @staticmethod
    def forward(ctx, t: torch.Tensor) -> torch.Tensor:
        out = t.clone()
        dist.all_reduce(out)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


def _batch_moments(x: torch.Tensor, weight: torch.Tensor, distributed: bool):
    """Mean and biased variance per channel over the positions where ``weight`` is 1 (two passes, as exact as
    the single-process kernel), summed over all processes when ``distributed``."""

    def total(t: torch.Tensor) -> torch.Tensor:
        return _SumOverProcesses.apply(t) if distributed else t

    first = total(torch.cat([(x * weight).sum(dim=(0, 2)), weight.sum().reshape(1)]))
    n = first[-1].clamp(min=2.0)
    mean = first[:-1] / n
    var = total((((x - mean[:, None]) * weight) ** 2).sum(dim=(0, 2))) / n
    return mean, var, n


def _upsample2(x: torch.Tensor) -> torch.Tensor:
    return x.repeat_interleave(2, dim=-1)


def _downsample2(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    # max-pool pads with -inf, so padded borders never win; the result is multiplied by the coarser mask.
    # Run as a 2-D pool on a channels-last view: the same windows and first-max rule, 2× faster (fwd + bwd).
    xl = x.transpose(1, 2).contiguous().transpose(1, 2).unsqueeze(2)
    return F.max_pool2d(xl, (1, 7), (1, 2), (0, 3)).squeeze(2) * mask


def _fuse(alpha: torch.Tensor, *inputs: torch.Tensor) -> torch.Tensor:
    w = torch.relu(alpha)
    w = w / (w.sum(dim=0) + FUSION_EPS)
    out = w[0] * inputs[0]
    for i in range(1, len(inputs)):
        out = out + w[i] * inputs[i]
    return F.silu(out)


class BiFPNLayer(nn.Module):
    """One BiFPN layer over ``NUM_LEVELS`` levels (see the module docstring for the graph)."""

    def __init__(self, channels: int, kernel_size: int, *, first: bool, bn_include_padding: bool = True):
        super().__init__()
        n = NUM_LEVELS
        self.first = first
        # registration order mirrors the original's state-dict order (see model.original)
        td_levels = range(n - 2, -1, -1)
        bu_levels = range(1, n)
        # (a list of pairs: ParameterDict would sort the keys of a plain dict)
        self.td_weights = nn.ParameterDict([(f"l{l}", nn.Parameter(torch.ones(2))) for l in td_levels])
        self.bu_weights = nn.ParameterDict(
            [(f"l{l}", nn.Parameter(torch.ones(3 if l < n - 2 else 2))) for l in bu_levels]
        )
        self.top_down = nn.ModuleDict({f"l{l}": ConvNeXtBlock(channels, kernel_size) for l in td_levels})
        self.bottom_up = nn.ModuleDict({f"l{l}": ConvNeXtBlock(channels, kernel_size) for l in bu_levels})
        if first:
            # input projections (1x1 masked conv -> BN): "l<i>" feed both paths, "l<i>_bu" the bottom-up path
            keys = [f"l{l}" for l in range(n - 1, -1, -1)] + [f"l{l}_bu" for l in range(1, n - 1)]
            self.in_convs = nn.ModuleDict({k: MaskedConv1d(channels, channels, 1) for k in keys})
            self.in_bns = nn.ModuleDict({k: MaskedBatchNorm1d(channels, bn_include_padding) for k in keys})

    def forward(self, feats: list[torch.Tensor], masks: list[torch.Tensor]) -> list[torch.Tensor]:
        n = NUM_LEVELS
        if self.first:
            ins = [self._project(f"l{l}", feats[l], masks[l]) for l in range(n)]
            ins_bu = [None] + [self._project(f"l{l}_bu", feats[l], masks[l]) for l in range(1, n - 1)] + [ins[-1]]
        else:
            ins = ins_bu = list(feats)
        td: list[torch.Tensor | None] = [None] * n
        td[n - 1] = ins[n - 1]
        for l in range(n - 2, -1, -1):
            key = f"l{l}"
            x = _fuse(self.td_weights[key], ins[l], _upsample2(td[l + 1]))
            td[l] = self.top_down[key](x, masks[l])
        outs = [td[0]]
        for l in range(1, n):
            key = f"l{l}"
            down = _downsample2(outs[l - 1], masks[l])
            if l < n - 2:
                x = _fuse(self.bu_weights[key], ins_bu[l], td[l], down)
            else:
                x = _fuse(self.bu_weights[key], ins_bu[l], down)
            outs.append(self.bottom_up[key](x, masks[l]))
        return outs

    def _project(self, key: str, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        y, _ = self.in_convs[key](x, mask)
        return self.in_bns[key](y, mask)


class BiFPNNeck(nn.Module):
    """``num_layers`` stacked BiFPN layers; the first one projects its inputs (1×1 conv + BN)."""

    def __init__(self, channels: int, kernel_size: int = 7, num_layers: int = 3, bn_include_padding: bool = True):
        super().__init__()
        self.layers = nn.ModuleList(
            BiFPNLayer(channels, kernel_size, first=i == 0, bn_include_padding=bn_include_padding)
            for i in range(num_layers)
        )

    def forward(self, feats: list[torch.Tensor], masks: list[torch.Tensor]) -> list[torch.Tensor]:
        for layer in self.layers:
            feats = layer(feats, masks)
        return feats
