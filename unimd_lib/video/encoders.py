"""Image / clip encoders: torch modules mapping float RGB frames in [0, 1], [B, frames, 3, H, W], to [B, C].

``clip`` is the CLIP image tower (frame embeddings averaged over the frames of a feature); any other name
``package.module:function`` is a user factory returning such a module (called with ``weights=`` when
weights are given).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from unimd_lib.errors import ConfigError, DataError
from unimd_lib.formats.files import sha256_of
from unimd_lib.video.clip_weights import load_clip_vision

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
BUILTIN = ("clip",)


class ClipImageEncoder(nn.Module):
    """CLIP's preprocessing in torch (bicubic resize to the tower's size when needed, CLIP mean/std), the tower,
    and the mean of the projected embeddings over the frames of each feature."""

    def __init__(self, tower: nn.Module):
        super().__init__()
        self.tower = tower
        self.size = int(tower.config.image_size)
        self.register_buffer("mean", torch.tensor(CLIP_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(CLIP_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        b, f = frames.shape[:2]
        x = frames.flatten(0, 1)
        if tuple(x.shape[-2:]) != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bicubic", align_corners=False, antialias=True)
            x = x.clamp(0.0, 1.0)
        x = (x - self.mean) / self.std
        emb = self.tower(pixel_values=x).image_embeds
        return emb.view(b, f, -1).mean(dim=1)


@dataclass
class Encoder:
    """A loaded encoder and what identifies it (recorded in manifests and cache keys)."""

    module: nn.Module
    name: str
    weights: str | None
    weights_sha256: str | None

    def describe(self) -> dict:
        return {"name": self.name, "weights": self.weights, "weights_sha256": self.weights_sha256}


def _factory(name: str):
    module_name, _, attr = name.partition(":")
    if not module_name or not attr:
        raise ConfigError(None, "encoder", f"{name!r}: expected {'|'.join(BUILTIN)} or 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ConfigError(None, "encoder", f"{name!r}: cannot import {module_name!r}: {err}") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise ConfigError(None, "encoder", f"{name!r}: {module_name} has no function {attr!r}")
    return fn


def load_encoder(name: str, *, weights: str | os.PathLike | None = None, device: str | torch.device = "cpu") -> Encoder:
    """The encoder ``name`` (``clip`` or ``package.module:function``) on ``device``, in eval mode."""
    if weights is not None and not Path(weights).exists():
        raise DataError(weights, None, f"weights of encoder {name!r} not found")
    sha = sha256_of(weights) if weights is not None else None
    if name == "clip":
        if weights is None:
            raise ConfigError(None, "weights", "the clip encoder needs a local checkpoint (--weights FILE|FOLDER)")
        module: nn.Module = ClipImageEncoder(load_clip_vision(weights))
    else:
        fn = _factory(name)
        module = fn(weights=str(weights)) if weights is not None else fn()
        if not isinstance(module, nn.Module):
            raise ConfigError(None, "encoder", f"{name!r} returned {type(module).__name__}, not a torch.nn.Module")
    module = module.to(device).eval()
    return Encoder(module, name, None if weights is None else str(weights), sha)
