"""Sampling recipes: which frames of a video make feature ``t``, so that it sits where the workbench's
seconds ↔ grid mapping (``formats.grid``) puts it.

A video is resampled to ``fps`` by timestamps (sample ``k`` is the frame shown at ``k / fps`` s), and feature
``t`` covers the ``num_frames`` samples ``[t·stride, t·stride + num_frames)``: its centre is at
``(t·stride + num_frames / 2) / fps`` seconds, the centre ``Grid(fps, stride, num_frames)`` assigns to it.
The encoder sees ``frames`` of those samples, spread evenly over the window (one frame = the centre one).
Only whole windows make features: ``T = (N − num_frames) // stride + 1`` for ``N`` samples.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

from unimd_lib.errors import ConfigError
from unimd_lib.formats.grid import Grid

RESIZE_MODES = ("crop", "stretch")


@dataclass(frozen=True)
class Recipe:
    """``fps`` sampling rate; ``num_frames`` samples per feature window; ``stride`` samples between features;
    ``frames`` samples handed to the encoder per feature; ``height`` × ``width`` the frame size it gets
    (``resize``: ``crop`` = scale the short side, then centre-crop; ``stretch`` = scale to the size)."""

    name: str
    fps: float
    num_frames: int
    stride: int
    frames: int = 1
    height: int = 224
    width: int = 224
    resize: str = "crop"

    def __post_init__(self):
        if not (self.fps > 0 and math.isfinite(self.fps)):
            raise ConfigError(None, "recipe.fps", f"must be a positive number, got {self.fps}")
        for key in ("num_frames", "stride", "frames", "height", "width"):
            if int(getattr(self, key)) < 1:
                raise ConfigError(None, f"recipe.{key}", f"must be >= 1, got {getattr(self, key)}")
        if self.frames > self.num_frames:
            raise ConfigError(
                None, "recipe.frames", f"{self.frames} frames do not fit a {self.num_frames}-frame window"
            )
        if self.resize not in RESIZE_MODES:
            raise ConfigError(None, "recipe.resize", f"must be one of {RESIZE_MODES}, got {self.resize!r}")

    @property
    def grid(self) -> Grid:
        """The seconds ↔ grid mapping of the features this recipe makes (a config's fps / feat_stride /
        num_frames must equal these)."""
        return Grid(self.fps, float(self.stride), float(self.num_frames))

    def offsets(self) -> list[int]:
        """Sample offsets inside a window handed to the encoder (evenly spread; 1 frame → the centre)."""
        return [int((j + 0.5) * self.num_frames / self.frames) for j in range(self.frames)]

    def samples_in(self, duration: float) -> int:
        """Samples of a video lasting ``duration`` s: every ``k`` with ``k / fps < duration``."""
        return max(0, math.ceil(duration * self.fps - 1e-6))

    def features_for(self, samples: int) -> int:
        """Features made from ``samples`` samples (whole windows only)."""
        return 0 if samples < self.num_frames else (samples - self.num_frames) // self.stride + 1

    def to_dict(self) -> dict:
        return asdict(self)


# the presets' grids; `frames` 1 = frame-level (image) features, 16 = clip-level (video) encoders
RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        # CLIP image features on the Charades I3D grid (24 fps, stride 4, 16-frame windows): preset charades_i3d_clip
        Recipe("charades_clip", fps=24.0, num_frames=16, stride=4, frames=1),
        Recipe("charades_i3d", fps=24.0, num_frames=16, stride=4, frames=16),
        Recipe("ego4d", fps=30.0, num_frames=16, stride=16, frames=16),
        Recipe("anet", fps=30.0, num_frames=16, stride=16, frames=16),
        # the synthetic benchmark's grid (30 fps, stride 16), one small frame per feature: demos and tests
        Recipe("synthetic", fps=30.0, num_frames=16, stride=16, frames=1, height=64, width=64),
    )
}


def resolve_recipe(recipe: str | Recipe, **overrides) -> Recipe:
    """A named recipe (or a ``Recipe``) with any of its numbers overridden (``None`` = keep)."""
    if isinstance(recipe, Recipe):
        base = recipe
    elif recipe in RECIPES:
        base = RECIPES[recipe]
    else:
        raise ConfigError(None, "recipe", f"unknown recipe {recipe!r}; known: {', '.join(RECIPES)}")
    known = {f.name for f in fields(Recipe)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(None, f"recipe.{unknown[0]}", f"not a recipe field (fields: {sorted(known)})")
    changes = {k: v for k, v in overrides.items() if v is not None}
    if not changes:
        return base
    name = base.name if set(changes) <= {"name"} else f"{base.name}+custom"
    return replace(base, **{"name": name, **changes})
