"""Seconds ↔ grid mapping (spec §6.1 step 6, §8.3), down-sampling and the fixed-length resize."""

from __future__ import annotations

import numpy as np
import pytest

from unimd_lib.formats.grid import Grid, downsample, effective_stride, resize_linear, resized_grid

EGO4D = Grid(fps=30.0, feat_stride=16, num_frames=16)
CHARADES = Grid(fps=24.0, feat_stride=4, num_frames=16)


def test_spec_worked_checks():
    assert EGO4D.to_grid(10.0) == pytest.approx(18.25)  # 10·30/16 − 0.5
    assert EGO4D.to_seconds(18.25) == pytest.approx(10.0)  # (18.25·16 + 8)/30
    assert CHARADES.to_grid(10.0) == pytest.approx(58.0)  # 10·24/4 − 2
    assert CHARADES.to_seconds(58.0) == pytest.approx(10.0)  # (58·4 + 8)/24
    assert (EGO4D.offset, CHARADES.offset) == (0.5, 2.0)


@pytest.mark.parametrize("grid", [EGO4D, CHARADES, Grid(30.0, 32, 16)])
def test_round_trip_inside_the_video(grid):
    t = np.linspace(0.5, 99.5, 50)
    np.testing.assert_allclose(grid.to_seconds(grid.to_grid(t), duration=100.0), t, atol=1e-9)


def test_back_mapping_clamps_to_the_video():
    # g = -0.5 is t = 0 exactly; anything before clamps to 0, anything past the end to the duration
    assert EGO4D.to_seconds(-0.5) == 0.0
    assert EGO4D.to_seconds(-3.0) == 0.0
    assert EGO4D.to_seconds(1000.0, duration=12.5) == 12.5
    assert EGO4D.to_grid(0.0) == -0.5  # small negatives are allowed on the way in


def test_downsampling_keeps_every_rate_th_step_and_scales_the_stride():
    x = np.arange(10, dtype=np.float32)[:, None]
    np.testing.assert_array_equal(downsample(x, 3)[:, 0], [0, 3, 6, 9])
    assert downsample(x, 1) is x
    assert effective_stride(16, 2) == 32.0
    # the mapping of a down-sampled video: 10 s at stride 32 → 10·30/32 − 16/64
    assert Grid(30.0, effective_stride(16, 2), 16).to_grid(10.0) == pytest.approx(9.375 - 0.25)
    with pytest.raises(ValueError):
        downsample(x, 0)


def test_resize_linear_half_pixel_centres():
    x = np.array([[0.0], [10.0]], dtype=np.float32)
    # 2 → 4 steps: sources at -0.25, 0.25, 0.75, 1.25 → clamped/interpolated 0, 2.5, 7.5, 10
    np.testing.assert_allclose(resize_linear(x, 4)[:, 0], [0.0, 2.5, 7.5, 10.0])
    y = np.arange(8, dtype=np.float32)[:, None]
    # 8 → 4: sources at 0.5, 2.5, 4.5, 6.5
    np.testing.assert_allclose(resize_linear(y, 4)[:, 0], [0.5, 2.5, 4.5, 6.5])


def test_resized_grid_maps_the_whole_video_onto_the_new_length():
    g = resized_grid(duration=100.0, fps=30.0, length=768)
    assert g.offset == 0.5
    assert g.to_grid(0.0) == pytest.approx(-0.5)
    assert g.to_grid(100.0) == pytest.approx(767.5)  # the end of the video is the end of the last step
    assert g.to_seconds(g.to_grid(42.0)) == pytest.approx(42.0)
