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

    Everything after the depthwise conv is per position and the output is masked, so the LN/MLP branch only
    matters at valid positions: the original's mask after the dwconv is skipped (it changes no output and no
    gradient), and on CPU the branch runs on the valid rows only when there is padding (training pads every
    video to max_seq_len, evaluation to at least max_seq_len) — same values, less work.
    """

    def __init__(self, channels: int, kernel_size: int, drop_path: float = 0.0, layer_scale_init: float = 1e-6):
        super().__init__()
        self.dwconv = nn.Conv1d(channels, channels, kernel_size, padding=kernel_size // 2, groups=channels)
        self.norm = nn.LayerNorm(channels, eps=1e-6)
        self.fc1 = nn.Linear(channels, 4 * channels)
        self.fc2 = nn.Linear(4 * channels, channels)
        self.layer_scale = nn.Parameter(torch.full((channels,), float(layer_scale_init)))
        self.drop_path = DropPath(drop_path)

    def branch(self, rows: torch.Tensor) -> torch.Tensor:
        """The per-position residual branch: rows [N, C] (positions × channels) → [C, N].

        The Linears are evaluated transposed (W · rowsᵀ): the same sums, but MKL runs these shapes 1.3× faster
        than rows · Wᵀ for the first Linear, and the result comes out channels-first for the residual add.
        """
        h = torch.addmm(self.fc1.bias[:, None], self.fc1.weight, self.norm(rows).t())
        return torch.addmm(self.fc2.bias[:, None], self.fc2.weight, F.gelu(h)) * self.layer_scale[:, None]

    def depthwise(self, x: torch.Tensor) -> torch.Tensor:
        """The depthwise conv of [B, C, T] → channels-last [B, T, C] (contiguous).

        Run as a 2-D conv on a channels-last [B, C, 1, T] view: oneDNN's channels-last depthwise kernel is
        ~1.5× faster (fwd + bwd) than the 1-D one, and its output is already laid out for the LN/MLP branch.
        """
        xl = x.transpose(1, 2).contiguous().transpose(1, 2).unsqueeze(2)
        k = self.dwconv.kernel_size[0]
        y = F.conv2d(xl, self.dwconv.weight.unsqueeze(2), self.dwconv.bias, padding=(0, k // 2), groups=x.shape[1])
        return y.squeeze(2).transpose(1, 2)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # the depthwise conv reads padded positions of x (they need not be 0): faithful to the original
        y = self.depthwise(x)  # [B, T, C]
        b, t, c = y.shape
        y = y.reshape(b * t, c)
        rows = valid_rows(mask) if x.device.type == "cpu" else None
        if rows is None:
            y = self.branch(y)
        else:
            valid = self.branch(y.index_select(0, rows))
            y = valid.new_zeros(c, b * t).index_copy(1, rows, valid)
        return (x + self.drop_path(y.view(c, b, t).transpose(0, 1))) * mask


def valid_rows(mask: torch.Tensor) -> torch.Tensor | None:
    """Flat (b·T + t) indices of the valid positions of a [B, 1, T] mask; None when nothing is padded."""
    flat = mask.reshape(-1) > 0
    if bool(flat.all()):
        return None
    return flat.nonzero().squeeze(1)
