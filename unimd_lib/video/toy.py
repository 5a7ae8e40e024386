"""A tiny frame encoder for demos and tests (``--encoder unimd_lib.video.toy:make_encoder``): each frame
average-pooled to 4 × 4 RGB cells, mapped by a fixed seeded random matrix to ``dim`` channels and averaged
over the frames of a feature. It carries no learned knowledge: it shows the pipeline, not a good feature."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ToyEncoder(nn.Module):
    def __init__(self, dim: int = 64, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.register_buffer("proj", torch.randn(48, dim, generator=g) / 48**0.5)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        b, f = frames.shape[:2]
        cells = F.adaptive_avg_pool2d(frames.flatten(0, 1), 4).flatten(1)  # [B·F, 48]
        return torch.tanh((cells - 0.5) @ self.proj * 4.0).view(b, f, -1).mean(dim=1)


def make_encoder(dim: int = 64, seed: int = 0, weights: str | None = None) -> nn.Module:
    """The factory: ``dim`` output channels (64 = the synthetic benchmark's feature width)."""
    return ToyEncoder(int(dim), int(seed))
