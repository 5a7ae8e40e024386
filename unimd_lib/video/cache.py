"""Features of one video file, cached by the file's content, the recipe and the encoder (name + weights):
what ``unimd query --video FILE`` uses, so asking a second question does not decode the video again."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch

from unimd_lib.formats.arrays import load_array, write_npy_atomic
from unimd_lib.formats.files import sha256_of, write_json_atomic
from unimd_lib.video.encoders import Encoder, load_encoder
from unimd_lib.video.extract import extract_video
from unimd_lib.video.recipe import Recipe, resolve_recipe


def cache_key(video_file: str | os.PathLike, recipe: Recipe, encoder: str, weights_sha256: str | None) -> str:
    """``<file sha256[:16]>-<sha256 of recipe + encoder>[:16]``."""
    setup = json.dumps({"recipe": recipe.to_dict(), "encoder": encoder, "weights": weights_sha256}, sort_keys=True)
    return f"{sha256_of(video_file)[:16]}-{hashlib.sha256(setup.encode()).hexdigest()[:16]}"


def extract_cached(
    video_file: str | os.PathLike,
    *,
    recipe: str | Recipe,
    encoder: str | Encoder,
    cache_dir: str | os.PathLike,
    weights: str | os.PathLike | None = None,
    device: str | torch.device = "cpu",
    batch_size: int = 32,
    progress: bool = False,
) -> np.ndarray:
    """Features [T, C] float32 of ``video_file`` (raises DataError for a bad video); computed once per file
    content, recipe and encoder, then read from ``cache_dir`` (``<key>.npy`` + ``<key>.json`` manifest entry)."""
    rec = resolve_recipe(recipe)
    if isinstance(encoder, Encoder):
        name, sha = encoder.name, encoder.weights_sha256
    else:
        name, sha = encoder, sha256_of(weights) if weights is not None else None
    key = cache_key(video_file, rec, name, sha)
    npy = Path(cache_dir) / f"{key}.npy"
    if npy.exists():
        return load_array(npy, str(video_file)).astype(np.float32, copy=False)
    enc = encoder if isinstance(encoder, Encoder) else load_encoder(encoder, weights=weights, device=device)
    feats, entry = extract_video(video_file, rec, enc, device=device, batch_size=batch_size, progress=progress)
    write_npy_atomic(npy, feats)
    write_json_atomic(npy.with_suffix(".json"), {"file": str(video_file), "recipe": rec.to_dict(),
                                                 "encoder": enc.describe(), **entry})  # fmt: skip
    return feats
