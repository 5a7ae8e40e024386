"""One video → features [T, C] float32, with the alignment check: the T the frames gave must equal the T the
container's duration implies (within ``tolerance``), otherwise the file is truncated or its timestamps are
wrong and its features would sit at the wrong seconds.

Decoding runs in a background thread, so the encoder (CPU or GPU) works while the next batch is decoded.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from unimd_lib.errors import DataError
from unimd_lib.video.decode import FrameSampler
from unimd_lib.video.encoders import Encoder
from unimd_lib.video.recipe import Recipe

_DONE = object()


def _batches(sampler: FrameSampler, batch_size: int) -> Iterator[np.ndarray]:
    batch: list[np.ndarray] = []
    for window in sampler.windows():
        batch.append(window)
        if len(batch) == batch_size:
            yield np.stack(batch)
            batch = []
    if batch:
        yield np.stack(batch)


def _prefetch(items: Iterator, depth: int = 2) -> Iterator:
    """Run ``items`` in a daemon thread, ``depth`` ahead; its exceptions are raised here."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work():
        try:
            for item in items:
                if stop.is_set():
                    return
                q.put(item)
            q.put(_DONE)
        except BaseException as err:  # handed to the consumer
            q.put(err)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        while (item := q.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(0.05)


def to_tensor(batch: np.ndarray, device: torch.device | str) -> torch.Tensor:
    """uint8 [B, frames, H, W, 3] → float [B, frames, 3, H, W] in [0, 1] on ``device``."""
    x = torch.from_numpy(batch).to(device, non_blocking=True)
    return x.permute(0, 1, 4, 2, 3).float().div_(255.0)


def alignment(recipe: Recipe, sampler: FrameSampler, num_features: int) -> dict:
    """The per-video manifest entry: what was decoded and what the stated duration implies."""
    stated = sampler.info.duration
    duration = stated if stated is not None and stated > 0 else sampler.decoded_duration
    return {
        "duration": round(float(duration), 6),
        "duration_source": "container" if duration == stated else "decoded frames",
        "decoded_duration": round(float(sampler.decoded_duration), 6),
        "source_fps": sampler.info.fps,
        "width": sampler.info.width,
        "height": sampler.info.height,
        "codec": sampler.info.codec,
        "frames_decoded": sampler.frames_decoded,
        "samples": sampler.samples,
        "T": num_features,
        "T_expected": recipe.features_for(recipe.samples_in(duration)),
    }


def check_alignment(path: str | os.PathLike, entry: dict, tolerance: int) -> None:
    """Raise DataError when the features do not line up with the video's stated duration."""
    t, expected = entry["T"], entry["T_expected"]
    if t == 0:
        raise DataError(path, None, f"too short: {entry['samples']} sampled frames make no whole feature window")
    if abs(t - expected) > tolerance:
        raise DataError(
            path,
            None,
            f"alignment check failed: the decoded frames give T={t} features but the stated duration "
            f"{entry['duration']:.3f} s implies T={expected} (decoded up to {entry['decoded_duration']:.3f} s, "
            f"{entry['frames_decoded']} frames): truncated file or wrong timestamps",
        )


@torch.inference_mode()
def extract_video(
    path: str | os.PathLike,
    recipe: Recipe,
    encoder: Encoder,
    *,
    device: str | torch.device = "cpu",
    batch_size: int = 32,
    tolerance: int = 1,
    progress: bool = False,
) -> tuple[np.ndarray, dict]:
    """Features [T, C] float32 of one video and its manifest entry (raises DataError for a bad video)."""
    sampler = FrameSampler(path, recipe)
    stated = sampler.info.duration
    total = recipe.features_for(recipe.samples_in(stated)) if stated else None
    parts: list[np.ndarray] = []
    bar = tqdm(total=total, desc=Path(path).name, unit="feat", disable=not progress, leave=False)
    try:
        for batch in _prefetch(_batches(sampler, batch_size)):
            out = encoder.module(to_tensor(batch, device))
            if out.ndim != 2 or out.shape[0] != batch.shape[0]:
                raise DataError(path, None, f"encoder {encoder.name!r} returned shape {tuple(out.shape)}, not [B, C]")
            parts.append(out.float().cpu().numpy())
            bar.update(batch.shape[0])
    finally:
        bar.close()
    feats = np.concatenate(parts).astype(np.float32, copy=False) if parts else np.zeros((0, 0), np.float32)
    entry = alignment(recipe, sampler, int(feats.shape[0]))
    check_alignment(path, entry, tolerance)
    if not np.isfinite(feats).all():
        raise DataError(path, None, "the encoder produced NaN/inf features")
    entry["C"] = int(feats.shape[1])
    return feats, entry
