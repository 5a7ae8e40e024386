"""Pyramid levels packed end to end along time, so each head layer runs once for all levels.

Levels are concatenated with ONE zero column between consecutive levels. A conv with kernel 3 and padding 1
then sees, at every level border, exactly the zero padding it would see on the level alone; after an
activation the separators must be zeroed again (``sep``) before the next conv. Per-position values are
unchanged up to float summation order; separators are dropped by ``unpack``.
"""

from __future__ import annotations

import torch


class PackedLevels:
    """Layout of levels with lengths ``lengths`` packed as described in the module docstring."""

    def __init__(self, lengths: list[int], device: torch.device, dtype: torch.dtype):
        self.lengths = [int(n) for n in lengths]
        total = sum(self.lengths) + len(self.lengths) - 1
        sep = torch.ones(total, dtype=dtype, device=device)
        level_of = torch.empty(total, dtype=torch.long, device=device)
        keep = []
        start = 0
        for level, n in enumerate(self.lengths):
            level_of[start : start + n] = level
            keep.append(torch.arange(start, start + n, device=device))
            if level + 1 < len(self.lengths):
                sep[start + n] = 0.0
                level_of[start + n] = level
            start += n + 1
        self.sep = sep.view(1, 1, total)
        self.level_of = level_of
        self.keep = torch.cat(keep)

    def pack(self, xs: list[torch.Tensor]) -> torch.Tensor:
        """Per-level [..., T_l] tensors → [..., L] with zero separators."""
        zero = xs[0].new_zeros(*xs[0].shape[:-1], 1)
        parts = []
        for i, x in enumerate(xs):
            if i:
                parts.append(zero)
            parts.append(x)
        return torch.cat(parts, dim=-1)

    def unpack(self, y: torch.Tensor) -> torch.Tensor:
        """[..., L] → [..., P] with P = Σ T_l (levels concatenated, separators removed)."""
        return y.index_select(-1, self.keep)

    def split(self, flat: torch.Tensor) -> list[torch.Tensor]:
        """[..., P] → per-level views [..., T_l]."""
        return list(flat.split(self.lengths, dim=-1))
