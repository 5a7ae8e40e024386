"""Masked ConvNeXt-1D block (spec §3.3), used by the backbone (k=3) and every BiFPN node (k=7)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from unimd_lib.model.layers import DropPath


class ConvNeXtBlock(nn.Module):
    """``out = (x + DropPath(γ ⊙ MLP(LN(dwconv(x) ⊙ mask)))) ⊙ mask`` on [B, C, T].

    dwconv: depthwise k (padding k//2, bias); LN over channels, eps 1e-6; MLP: Linear C→4C, exact GELU,
    Linear 4C→C; γ: layer scale (init 1e-6). Default PyTorch init for the convs and linears.
    """

    def __init__(self, channels: int, kernel_size: int, drop_path: float = 0.0, layer_scale_init: float = 1e-6):
        super().__init__()
        self.dwconv = nn.Conv1d(channels, channels, kernel_size, padding=kernel_size // 2, groups=channels)
        self.norm = nn.LayerNorm(channels, eps=1e-6)
        self.fc1 = nn.Linear(channels, 4 * channels)
        self.fc2 = nn.Linear(4 * channels, channels)
        self.layer_scale = nn.Parameter(torch.full((channels,), float(layer_scale_init)))
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # the depthwise conv reads padded positions of x (they need not be 0): faithful to the original.
        # The original also masks the dwconv output; everything after it is per position and the block output
        # is masked, so that multiplication changes no valid value nor any gradient: skipped.
        y = self.dwconv(x).transpose(1, 2)
        y = self.fc2(F.gelu(self.fc1(self.norm(y))))
        y = (y * self.layer_scale).transpose(1, 2)
        return (x + self.drop_path(y)) * mask
