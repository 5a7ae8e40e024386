"""Small building blocks shared by the backbone, neck and heads (spec §3.2, §3.3).

Masks are float tensors [B, 1, T] (1 = valid) inside the network: multiplying by them is what the original
does, and keeping them float avoids a cast per layer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def downsample_mask(mask: torch.Tensor, stride: int) -> torch.Tensor:
    """Nearest down-sampling of a [B, 1, T] mask: keeps every ``stride``-th entry (mask[s·i], spec §3.2)."""
    return mask[..., ::stride] if stride > 1 else mask


class MaskedConv1d(nn.Conv1d):
    """Conv1d whose output is multiplied by the (down-sampled) mask; bias zero-initialised (spec §3.2).

    The input length must be divisible by the stride, so the output mask is ``mask[..., ::stride]``.
    """

    def __init__(
        self, in_ch: int, out_ch: int, kernel_size: int, stride: int = 1, *, bias: bool = True, groups: int = 1
    ):
        padding = kernel_size // 2 if stride == 1 else 0
        super().__init__(in_ch, out_ch, kernel_size, stride=stride, padding=padding, bias=bias, groups=groups)
        if bias:
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[override]
        out_mask = downsample_mask(mask, self.stride[0])
        return super().forward(x) * out_mask, out_mask


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels of a [B, C, T] tensor (biased variance), affine weight/bias of shape [C].

    Used with eps 1e-5 in the embedding and heads (``blocks.LayerNorm``) and eps 1e-6 before the backbone's
    down-sampling convs (``LayerNorm2`` channels_first); both compute the same formula (spec §3.2, §3.4).
    """

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # F.layer_norm on the channels-last view: one fused kernel instead of the original's 8 element-wise ops;
        # identical formula (biased variance, eps inside the square root)
        return F.layer_norm(x.transpose(1, 2), (x.shape[1],), self.weight, self.bias, self.eps).transpose(1, 2)


class Scale(nn.Module):
    """A learnable scalar (init 1.0) multiplying its input; one per pyramid level in the regression head."""

    def __init__(self, init: float = 1.0):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(float(init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


class DropPath(nn.Module):
    """Stochastic depth per sample: ``x * keep / keep_prob`` with keep ~ Bernoulli(keep_prob) of shape (B, 1, 1).

    Draws exactly like timm's DropPath (``bernoulli_`` on a (B,1,1) tensor), which is what the original uses.
    ``sample_keep`` is the single place randomness enters, so a parity harness can substitute recorded masks.
    """

    def __init__(self, drop_prob: float = 0.0):
        super().__init__()
        self.drop_prob = float(drop_prob)

    def sample_keep(self, x: torch.Tensor, keep_prob: float) -> torch.Tensor:
        return x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep_prob = 1.0 - self.drop_prob
        return x * self.sample_keep(x, keep_prob).div_(keep_prob)

    def extra_repr(self) -> str:
        return f"drop_prob={self.drop_prob:.3f}"


class Dropout(nn.Module):
    """Element-wise dropout (``x * keep / (1 - p)``) with the mask drawn in ``sample_keep`` (see ``DropPath``)."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = float(p)

    def sample_keep(self, x: torch.Tensor, keep_prob: float) -> torch.Tensor:
        return torch.empty_like(x).bernoulli_(keep_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep_prob = 1.0 - self.p
        return x * self.sample_keep(x, keep_prob).div_(keep_prob)

    def extra_repr(self) -> str:
        return f"p={self.p}"
