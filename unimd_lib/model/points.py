"""Temporal anchor points per pyramid level (spec §3.6): t = 0, s, 2s, … with no half-stride offset."""

from __future__ import annotations

import torch
from torch import nn


class PointGenerator(nn.Module):
    """Per level l a buffer [T_buf / s_l, 4] of (t, reg_lo, reg_hi, s_l), t in grid units of the input.

    The buffers are non-persistent (not in checkpoints) and sized ``max_seq_len × max_buffer_len_factor``.
    """

    def __init__(self, max_seq_len: int, strides: tuple[int, ...], regression_range, buffer_factor: float = 6.0):
        super().__init__()
        self.strides = tuple(int(s) for s in strides)
        self.buffer_len = int(max_seq_len * buffer_factor)
        for l, (s, (lo, hi)) in enumerate(zip(self.strides, regression_range, strict=True)):
            t = torch.arange(0, self.buffer_len, s, dtype=torch.float32)
            pts = torch.stack([t, torch.full_like(t, lo), torch.full_like(t, hi), torch.full_like(t, s)], dim=1)
            self.register_buffer(f"level{l}", pts, persistent=False)

    def forward(self, lengths: list[int]) -> list[torch.Tensor]:
        """Points for feature lengths ``lengths`` (one per level)."""
        out = []
        for l, n in enumerate(lengths):
            pts = getattr(self, f"level{l}")
            if n > pts.shape[0]:
                raise ValueError(
                    f"level {l}: {n} points exceed the buffer ({pts.shape[0]}); raise max_buffer_len_factor"
                )
            out.append(pts[:n])
        return out
