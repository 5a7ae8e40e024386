"""ConvNeXt-1D backbone (``convnext_stage``, spec §3.4): 6 pyramid levels at strides 1, 2, 4, 8, 16, 32."""

from __future__ import annotations

import torch
from torch import nn

from unimd_lib.model.convnext import ConvNeXtBlock
from unimd_lib.model.layers import ChannelLayerNorm, MaskedConv1d

# the original hard-codes the stochastic-depth rate of the stages (meta_archs.py:446), ignoring the config
STAGE_DROP_PATH_MAX = 0.4
# the embedding convs always use kernel 3 (backbones.py:435-447, ``fix_embd_ks``)
EMBED_KERNEL = 3


class Downsample(nn.Module):
    """Channel LayerNorm (eps 1e-6) then a masked conv k=2, stride 2 (with bias)."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = ChannelLayerNorm(channels, eps=1e-6)
        self.conv = MaskedConv1d(channels, channels, 2, stride=2)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # padded positions enter the norm as 0 and leave it as its bias; with an odd valid length the last
        # valid output reads one of them (refcases README §7.8), as in the original
        return self.conv(self.norm(x), mask)


class ConvNeXtBackbone(nn.Module):
    """embed: 2 × [masked conv k3 (no bias) → channel LN → ReLU]; stem: ``arch[1]`` ConvNeXt blocks → level 0;
    stage i: ConvNeXt block(s) (drop path linspace(0, 0.4, n_stages)[i]) → down-sample → level i+1."""

    def __init__(
        self,
        in_channels: int,
        channels: int,
        *,
        arch: tuple[int, int, int] = (2, 2, 5),
        kernel_size: int = 3,
        depths: tuple[int, ...] = (1, 1, 1, 1, 1),
        with_ln: bool = True,
    ):
        super().__init__()
        n_embed, n_stem, n_stages = arch
        self.embed_convs = nn.ModuleList(
            MaskedConv1d(in_channels if i == 0 else channels, channels, EMBED_KERNEL, bias=not with_ln)
            for i in range(n_embed)
        )
        self.embed_norms = nn.ModuleList(
            ChannelLayerNorm(channels, eps=1e-5) if with_ln else nn.Identity() for _ in range(n_embed)
        )
        self.stem = nn.ModuleList(ConvNeXtBlock(channels, kernel_size) for _ in range(n_stem))
        self.downsamples = nn.ModuleList(Downsample(channels) for _ in range(n_stages))
        rates = torch.linspace(0, STAGE_DROP_PATH_MAX, sum(depths)).tolist()
        self.stages = nn.ModuleList()
        k = 0
        for depth in depths:
            self.stages.append(nn.ModuleList(ConvNeXtBlock(channels, kernel_size, rates[k + j]) for j in range(depth)))
            k += depth
        for m in self.modules():  # backbones.py:493-497
            if isinstance(m, (nn.Linear, nn.Conv1d)) and m.bias is not None:
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """x [B, C_in, T], mask [B, 1, T] float → per level features [B, C, T_l] and masks [B, 1, T_l]."""
        for conv, norm in zip(self.embed_convs, self.embed_norms, strict=True):
            x, mask = conv(x, mask)
            x = torch.relu(norm(x))
        for block in self.stem:
            x = block(x, mask)
        feats, masks = [x], [mask]
        for blocks, down in zip(self.stages, self.downsamples, strict=True):
            for block in blocks:
                x = block(x, mask)
            x, mask = down(x, mask)
            feats.append(x)
            masks.append(mask)
        return feats, masks
