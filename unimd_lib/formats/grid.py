"""Seconds ↔ feature-grid mapping, temporal down-sampling and ANet's fixed-length resize (spec §6.1, §8.3).

One grid unit = one feature vector = ``feat_stride`` video frames. Feature ``i`` covers frames
``[i·stride, i·stride + num_frames)``, so its centre is at ``(i·stride + num_frames/2) / fps`` seconds:

    g = t·fps/stride − 0.5·num_frames/stride          (seconds → grid; small negatives allowed)
    t = (g·stride + 0.5·num_frames) / fps, clamped to [0, duration]   (grid → seconds)

Worked checks (spec §6.1 step 6): Ego4D (fps 30, stride 16, 16 frames) 10 s → 18.25;
Charades (fps 24, stride 4, 16 frames) 10 s → 58.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Grid:
    """The mapping of one video. ``feat_stride`` is the *effective* stride (after down-sampling)."""

    fps: float
    feat_stride: float
    num_frames: float

    @property
    def offset(self) -> float:
        """Grid offset 0.5·num_frames/stride (0.5 for Ego4D/ANet, 2.0 for Charades); also the crop slack."""
        return 0.5 * self.num_frames / self.feat_stride

    def to_grid(self, seconds: np.ndarray | float) -> np.ndarray:
        return np.asarray(seconds, dtype=np.float64) * self.fps / self.feat_stride - self.offset

    def to_seconds(self, grid: np.ndarray | float, duration: float | None = None) -> np.ndarray:
        t = (np.asarray(grid, dtype=np.float64) * self.feat_stride + 0.5 * self.num_frames) / self.fps
        t = np.maximum(t, 0.0)
        return t if duration is None else np.minimum(t, duration)


def effective_stride(feat_stride: float, downsample_rate: int) -> float:
    """Stride after keeping every ``downsample_rate``-th feature; num_frames is unchanged (spec §6.1 step 4)."""
    if downsample_rate < 1:
        raise ValueError(f"downsample_rate must be >= 1, got {downsample_rate}")
    return float(feat_stride) * downsample_rate


def downsample(feats: np.ndarray, rate: int) -> np.ndarray:
    """Keep every ``rate``-th time step of ``feats`` [T, C] (rate 1 = unchanged)."""
    if rate < 1:
        raise ValueError(f"downsample rate must be >= 1, got {rate}")
    return feats if rate == 1 else feats[::rate]


def resize_linear(feats: np.ndarray, length: int) -> np.ndarray:
    """Linearly resample ``feats`` [T, C] to ``length`` steps (half-pixel centres, i.e. align_corners=False).

    Used by ANet's ``force_upsampling`` branch (spec §6.4, unused by the released config).
    """
    t_in = feats.shape[0]
    if length < 1 or t_in < 1:
        raise ValueError(f"cannot resize {t_in} steps to {length}")
    if t_in == length:
        return feats
    src = (np.arange(length, dtype=np.float64) + 0.5) * (t_in / length) - 0.5
    src = np.clip(src, 0.0, t_in - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, t_in - 1)
    w = (src - lo)[:, None]
    return ((1.0 - w) * feats[lo] + w * feats[hi]).astype(feats.dtype, copy=False)


def resized_grid(duration: float, fps: float, length: int) -> Grid:
    """Mapping after resizing a whole video to ``length`` steps: each step covers duration·fps/length frames
    and its window equals its stride, so the offset stays 0.5 grid units."""
    stride = duration * fps / length
    return Grid(fps=fps, feat_stride=stride, num_frames=stride)
