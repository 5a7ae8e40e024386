"""Features of your own video must match the run's grid and width before they reach its model."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from unimd_lib.errors import ConfigError
from unimd_lib.train.video_moments import check_grid


def _run(default_fps=None):
    data = SimpleNamespace(feat_stride=16, num_frames=16, default_fps=default_fps)
    return SimpleNamespace(cfg=SimpleNamespace(data=data, model=SimpleNamespace(input_dim=64)))


def test_grid_and_width_mismatches_are_refused():
    check_grid(_run(), fps=30.0, feat_stride=16, num_frames=16, dim=64)
    with pytest.raises(ConfigError, match="stride 4 / window 16"):
        check_grid(_run(), fps=24.0, feat_stride=4, num_frames=16, dim=64)
    with pytest.raises(ConfigError, match="model.input_dim.*512-d"):
        check_grid(_run(), fps=30.0, feat_stride=16, num_frames=16, dim=512)
    with pytest.raises(ConfigError, match="recipe.fps"):
        check_grid(_run(default_fps=24.0), fps=30.0, feat_stride=16, num_frames=16, dim=64)
