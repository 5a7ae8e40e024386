"""Query-conditioned regression head ("one_head_multi", spec §3.8).

Feature branch per level: [conv k3 (no bias) → LN → ReLU] × 2 (masked convs). A query MLP turns every query
embedding into the weights (2 × E × k) and bias (2) of a dynamic conv; per level
``offsets = ReLU(scale_l · (conv(h, W_q) + β_q)) · mask`` in units of the level stride.

All queries of a task are applied at once: TAD (one kernel set shared by the batch) as one conv with 2K output
channels, MR (per-video kernels) as one grouped conv with one group per video — no loop over classes/queries.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from unimd_lib.model.layers import ChannelLayerNorm, Dropout, MaskedConv1d, Scale

# dropout before each query-MLP Linear, hard-coded in the original (query_reg_tad_mr.py)
QUERY_DROPOUT = 0.1


class KernelGenerator(nn.Module):
    """[N, E_q] query embeddings → dynamic conv weights [N, 2, E, k] and biases [N, 2].

    z1 = ReLU(LN(Linear(Drop(q)))); z2 = ReLU(LN(Linear(Drop(z1)))); z3 = ReLU(Linear(Drop(z2))) of width
    2·(E·k + 1). The first 2·E·k values, in C order [E, 2, k], are the kernel; the last 2 the bias. The final
    ReLU (quirk §11.2, ``relu_out``) makes them non-negative; ``norms.2`` exists in the original but is unused.
    """

    def __init__(self, query_dim: int, hidden: int, channels: int, kernel_size: int, *, relu_out: bool = True):
        super().__init__()
        self.channels, self.kernel_size, self.relu_out = channels, kernel_size, relu_out
        out = 2 * (channels * kernel_size + 1)
        self.dropouts = nn.ModuleList(Dropout(QUERY_DROPOUT) for _ in range(3))
        self.linears = nn.ModuleList([nn.Linear(query_dim, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, out)])
        self.norms = nn.ModuleList([nn.LayerNorm(hidden), nn.LayerNorm(hidden), nn.LayerNorm(out)])

    def forward(self, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = q
        for i in range(2):
            z = torch.relu(self.norms[i](self.linears[i](self.dropouts[i](z))))
        z = self.linears[2](self.dropouts[2](z))
        if self.relu_out:
            z = torch.relu(z)
        n, c, k = z.shape[0], self.channels, self.kernel_size
        weight = z[:, : 2 * c * k].reshape(n, c, 2, k).transpose(1, 2)
        return weight, z[:, 2 * c * k :]


class QueryRegressionHead(nn.Module):
    """Per level offsets [Bt, K, 2, T_l] (left, right distances in strides) for queries [Bt, K, E]."""

    def __init__(
        self,
        channels: int,
        num_levels: int,
        kernel_size: int = 3,
        *,
        query_dim: int = 512,
        query_hidden: int = 512,
        relu_kernels: bool = True,
    ):
        super().__init__()
        self.kernel_size = kernel_size
        self.convs = nn.ModuleList(MaskedConv1d(channels, channels, kernel_size, bias=False) for _ in range(2))
        self.norms = nn.ModuleList(ChannelLayerNorm(channels) for _ in range(2))
        self.scales = nn.ModuleList(Scale() for _ in range(num_levels))
        self.kernels = KernelGenerator(query_dim, query_hidden, channels, kernel_size, relu_out=relu_kernels)

    def features(self, x: torch.Tensor, mask: torch.Tensor, sep: torch.Tensor | None = None) -> torch.Tensor:
        """x [B, E, T], mask [B, 1, T]; ``sep`` zeroes level separators of packed levels (``model.levels``)."""
        # no re-masking after LN/ReLU: padded positions hold relu(LN bias) and the next conv reads them
        for conv, norm in zip(self.convs, self.norms, strict=True):
            x, _ = conv(x, mask)
            x = torch.relu(norm(x))
            if sep is not None:
                x = x * sep
        return x

    def position_scales(self, level_of: torch.Tensor) -> torch.Tensor:
        """The learnable scale of each position's level: [L] from ``level_of`` [L] (level indices)."""
        return torch.stack([s.scale for s in self.scales]).index_select(0, level_of)

    def shared_offsets(
        self, h: torch.Tensor, mask: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, scale: torch.Tensor
    ) -> torch.Tensor:
        """One kernel set for every video: h [B, E, T], weight [K, 2, E, k], bias [K, 2] → [B, K, 2, T].
        ``scale``: the level scale, a scalar or one per position [T]."""
        k = weight.shape[0]
        y = F.conv1d(h, weight.reshape(2 * k, *weight.shape[2:]), bias.reshape(-1), padding=self.kernel_size // 2)
        return self._finish(y.view(h.shape[0], k, 2, -1), mask, scale)

    def per_video_offsets(
        self, h: torch.Tensor, mask: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, scale: torch.Tensor
    ) -> torch.Tensor:
        """Kernels per video: h [Bt, E, T], weight [Bt, K, 2, E, k], bias [Bt, K, 2] → [Bt, K, 2, T]."""
        bt, k, _, e, ks = weight.shape
        y = F.conv1d(
            h.reshape(1, bt * e, -1),
            weight.reshape(bt * k * 2, e, ks),
            bias.reshape(-1),
            padding=self.kernel_size // 2,
            groups=bt,
        )
        return self._finish(y.view(bt, k, 2, -1), mask, scale)

    @staticmethod
    def _finish(y: torch.Tensor, mask: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        return torch.relu(y * scale) * mask.unsqueeze(1)
