"""Sampling by timestamps: T for known durations and rates, variable frame rates, odd sizes, the grid."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tests.video.conftest import TOY, write_grey_frames
from unimd_lib.errors import ConfigError, DataError
from unimd_lib.formats.grid import Grid
from unimd_lib.video import FrameSampler, load_encoder, resolve_recipe
from unimd_lib.video.encoders import Encoder
from unimd_lib.video.extract import extract_video


class MeanGrey(nn.Module):
    """Feature = mean pixel value × 255 of each frame handed over ([B, frames])."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3, 4)) * 255.0


def grey_encoder() -> Encoder:
    return Encoder(MeanGrey(), "mean-grey", None, None)


def test_feature_t_is_centred_where_the_grid_puts_it():
    # charades_clip: 24 fps, stride 4, 16-frame windows, one frame: the window's centre sample 4t + 8
    r = resolve_recipe("charades_clip")
    assert r.offsets() == [8]
    t = np.arange(50)
    assert np.allclose((t * r.stride + r.offsets()[0]) / r.fps, Grid(24.0, 4.0, 16.0).to_seconds(t))
    assert r.grid == Grid(24.0, 4.0, 16.0)
    assert resolve_recipe("ego4d").offsets() == list(range(16))


@pytest.mark.parametrize(
    ("name", "recipe", "overrides", "samples", "T"),
    [
        ("cfr", "synthetic", {}, 360, (360 - 16) // 16 + 1),  # 12 s at 30 fps
        ("cfr", "charades_clip", {}, 288, (288 - 16) // 4 + 1),  # 12 s resampled to 24 fps
        ("ntsc", "charades_clip", {}, 241, (241 - 16) // 4 + 1),  # 300 frames at 29.97 = 10.01 s → 240.24
        ("odd", "synthetic", {}, 150, (150 - 16) // 16 + 1),  # 5 s at 25 fps resampled to 30
        ("odd", "synthetic", {"resize": "stretch", "height": 40, "width": 30}, 150, 9),
    ],
)
def test_known_durations_give_the_expected_number_of_features(videos, name, recipe, overrides, samples, T):
    r = resolve_recipe(recipe, **overrides)
    feats, entry = extract_video(videos[name], r, load_encoder(TOY))
    assert feats.shape == (T, 64) and feats.dtype == np.float32
    assert entry["samples"] == samples and entry["T"] == entry["T_expected"] == T


def test_odd_resolution_frames_reach_the_encoder_at_the_recipe_size(videos):
    r = resolve_recipe("synthetic", height=33, width=21)
    windows = list(FrameSampler(videos["odd"], r).windows())
    assert windows[0].shape == (1, 33, 21, 3) and windows[0].dtype == np.uint8


def test_variable_frame_rate_is_sampled_by_timestamps(tmp_path):
    times = [0.0, 0.1, 0.5, 0.52, 1.0, 1.9]  # frame i shown from times[i]; the last one lasts 1/30 s
    path = write_grey_frames(tmp_path / "vfr.mkv", times)
    r = resolve_recipe("synthetic", fps=10.0, num_frames=2, stride=1, frames=2)
    feats, entry = extract_video(path, r, grey_encoder(), batch_size=3)
    # samples at k/10 s, k = 0..19 (duration 1.9333 s): the frame on screen at each time
    expected = [max(i for i, t in enumerate(times) if t <= k / 10 + 1e-9) for k in range(20)]
    assert entry["samples"] == 20 and entry["T"] == 19
    got = np.rint(feats / 20.0).astype(int) - 1  # grey level 20·(i + 1) → frame index i (YUV rounding ±1)
    assert got[:, 0].tolist() == expected[:19] and got[:, 1].tolist() == expected[1:20]


def test_vfr_file_passes_the_alignment_check(videos):
    feats, entry = extract_video(videos["vfr"], resolve_recipe("synthetic"), load_encoder(TOY))
    assert entry["duration"] == pytest.approx(3.9 + 1 / 30, abs=1e-3)
    assert entry["frames_decoded"] == 8 and entry["T"] == feats.shape[0] == (118 - 16) // 16 + 1


def test_truncated_video_fails_the_alignment_check(videos):
    with pytest.raises(DataError, match=r"truncated.mkv.*alignment check failed.*T=22"):
        extract_video(videos["dir"] / "truncated.mkv", resolve_recipe("synthetic"), load_encoder(TOY))


@pytest.mark.parametrize(
    ("name", "reason"),
    [("corrupt.mp4", "cannot open"), ("empty.mp4", "zero bytes"), ("audio_only.mp4", "no video stream")],
)
def test_bad_files_raise_naming_the_file(videos, name, reason):
    with pytest.raises(DataError, match=f"{name}.*{reason}"):
        extract_video(videos["dir"] / name, resolve_recipe("synthetic"), load_encoder(TOY))


def test_recipe_overrides_and_bad_numbers():
    r = resolve_recipe("charades_clip", fps=12.0)
    assert (r.fps, r.stride, r.name) == (12.0, 4, "charades_clip+custom")
    with pytest.raises(ConfigError, match="unknown recipe"):
        resolve_recipe("nope")
    with pytest.raises(ConfigError, match="recipe.frames"):
        resolve_recipe("synthetic", frames=17)
    with pytest.raises(ConfigError, match="recipe.fps"):
        resolve_recipe("synthetic", fps=-1.0)


def test_factory_errors_are_clear():
    with pytest.raises(ConfigError, match="cannot import"):
        load_encoder("no_such_pkg.mod:make")
    with pytest.raises(ConfigError, match="package.module:function"):
        load_encoder("resnet")
    with pytest.raises(ConfigError, match="--weights"):
        load_encoder("clip")


def test_thumbnails_are_the_frames_on_screen_at_the_given_times(tmp_path):
    from unimd_lib.video import frames_at

    path = write_grey_frames(tmp_path / "g.mkv", [0.0, 0.5, 1.0, 1.5])
    thumbs = frames_at(path, [1.2, 0.0, 0.7, 9.0], height=16)
    assert [t.shape for t in thumbs] == [(16, 24, 3)] * 4  # 48 x 32 scaled to 16 px high
    assert [round(float(t.mean()) / 20) - 1 for t in thumbs] == [2, 0, 1, 3]
