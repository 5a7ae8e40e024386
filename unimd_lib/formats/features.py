"""Video feature files: ``[T, C]`` float arrays in ``.npy`` or ``.npz`` (key ``features``) (spec §6.1 steps 1-3).

Each stream is checked (2-D, expected width, finite, non-empty), L2-normalised per time step, and several
streams (Charades I3D ‖ CLIP) are truncated to the shortest length and concatenated along channels.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from unimd_lib.errors import DataError
from unimd_lib.formats.arrays import load_array

# torch.nn.functional.normalize's eps: an all-zero step stays zero instead of becoming NaN
_EPS = 1e-12


def l2_normalise(x: np.ndarray, axis: int = -1) -> np.ndarray:
    norm = np.linalg.norm(x, axis=axis, keepdims=True)
    return x / np.maximum(norm, _EPS)


def read_features(path: str | os.PathLike, video_id: str, dim: int | None = None, key: str = "features") -> np.ndarray:
    """One feature stream as float32 [T, C], L2-normalised per time step.

    Raises DataError (file, ``video <id>``) for a missing file or key, a non-2-D array, ``C != dim``,
    zero length, or any NaN/inf value (the first bad time step is named).
    """
    item = f"video {video_id}"
    arr = load_array(path, item, key)
    if arr.ndim != 2:
        raise DataError(path, item, f"features must be 2-D [T, C], got shape {tuple(arr.shape)}")
    if not np.issubdtype(arr.dtype, np.floating):
        raise DataError(path, item, f"features must be floating point, got dtype {arr.dtype}")
    if dim is not None and arr.shape[1] != dim:
        raise DataError(path, item, f"feature dimension {arr.shape[1]} != expected {dim} (shape {tuple(arr.shape)})")
    if arr.shape[0] == 0:
        raise DataError(path, item, "features have zero time steps")
    arr = arr.astype(np.float32, copy=False)
    finite = np.isfinite(arr)
    if not finite.all():
        step = int(np.argwhere(~finite)[0, 0])
        raise DataError(path, item, f"non-finite value (NaN/inf) at time step {step}")
    return l2_normalise(arr, axis=1).astype(np.float32, copy=False)


@dataclass(frozen=True)
class Stream:
    """One feature source of a video: its file and expected width (None = unchecked)."""

    path: str | os.PathLike
    dim: int | None = None
    key: str = "features"


def read_feature_streams(streams: Sequence[Stream], video_id: str) -> np.ndarray:
    """All sources of one video, each normalised separately, truncated to the shortest, concatenated → [T, ΣC]."""
    if not streams:
        raise ValueError("at least one feature stream is required")
    parts = [read_features(s.path, video_id, s.dim, s.key) for s in streams]
    if len(parts) == 1:
        return parts[0]
    length = min(p.shape[0] for p in parts)
    return np.concatenate([p[:length] for p in parts], axis=1)
