"""Decoding with PyAV and sampling by timestamps: sample ``k`` of a recipe is the frame on screen at
``k / fps`` seconds (from the stream's start), so variable frame rates and any source rate map to the same
grid. Frames are converted to RGB (and resized by FFmpeg's scaler) only when a feature needs them.

Frames stream through: memory holds one feature window, not the video.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unimd_lib.errors import DataError
from unimd_lib.video.recipe import Recipe

_EPS = 1e-6


def _av():
    try:
        import av
    except ImportError as err:  # pragma: no cover - the `video` extra is missing
        raise ImportError("video decoding needs PyAV: pip install 'unimd-workbench[video]'") from err
    return av


@dataclass
class VideoInfo:
    """What the container says: ``duration`` s (None when it does not say), average frame rate, size, codec."""

    duration: float | None
    fps: float | None
    width: int
    height: int
    codec: str


def _open(path: Path):
    av = _av()
    if not path.is_file():
        raise DataError(path, None, "video file not found")
    if path.stat().st_size == 0:
        raise DataError(path, None, "empty file (zero bytes)")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, ValueError) as err:
        raise DataError(path, None, f"cannot open as a video container: {err}") from None
    if not container.streams.video:
        container.close()
        raise DataError(path, None, "no video stream in the file")
    return container


def _info(container, stream) -> VideoInfo:
    duration = None
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / 1_000_000
    rate = stream.average_rate or stream.guessed_rate
    return VideoInfo(
        duration=duration,
        fps=float(rate) if rate else None,
        width=int(stream.codec_context.width),
        height=int(stream.codec_context.height),
        codec=str(stream.codec_context.name),
    )


def probe(path: str | os.PathLike) -> VideoInfo:
    """The container's view of a video (raises DataError for files that are not videos)."""
    p = Path(path)
    container = _open(p)
    try:
        return _info(container, container.streams.video[0])
    finally:
        container.close()


def _target_size(recipe: Recipe, width: int, height: int) -> tuple[int, int]:
    if recipe.resize == "stretch":
        return recipe.width, recipe.height
    scale = max(recipe.width / width, recipe.height / height)
    return max(recipe.width, round(width * scale)), max(recipe.height, round(height * scale))


class FrameSampler:
    """Iterate the encoder inputs of one video: ``windows()`` yields uint8 [frames, H, W, 3] per feature.

    After the iteration: ``frames_decoded`` (source frames), ``samples`` (resampled frames, N),
    ``decoded_duration`` (end of the last frame, s) and ``info`` (the container's view).
    """

    def __init__(self, path: str | os.PathLike, recipe: Recipe):
        self.path = Path(path)
        self.recipe = recipe
        self.frames_decoded = 0
        self.samples = 0
        self.decoded_duration = 0.0
        self.info = probe(self.path)

    def _rgb(self, frame) -> np.ndarray:
        r = self.recipe
        w, h = _target_size(r, frame.width, frame.height)
        img = frame.to_ndarray(format="rgb24", width=w, height=h, interpolation="BILINEAR")
        top, left = (h - r.height) // 2, (w - r.width) // 2
        return np.ascontiguousarray(img[top : top + r.height, left : left + r.width])

    def _frames(self) -> Iterator[tuple[float, float, object]]:
        """(start s, duration s, frame) of every decoded frame, times from the stream's start."""
        av = _av()
        container = _open(self.path)
        try:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            tb = stream.time_base
            start = float(stream.start_time * tb) if stream.start_time is not None and tb else 0.0
            rate = float(stream.average_rate or stream.guessed_rate or 0) or None
            previous = None
            try:
                for frame in container.decode(stream):
                    if frame.pts is not None and frame.time_base is not None:
                        t = float(frame.pts * frame.time_base) - start
                    elif rate:
                        t = self.frames_decoded / rate
                    else:
                        raise DataError(self.path, f"frame {self.frames_decoded}", "frame without a timestamp")
                    if previous is not None and t < previous - _EPS:
                        raise DataError(self.path, f"frame {self.frames_decoded}", "timestamps go backwards")
                    dur = float(frame.duration * frame.time_base) if frame.duration and frame.time_base else None
                    self.frames_decoded += 1
                    previous = t
                    yield t, dur if dur else (1.0 / rate if rate else 0.0), frame
            except av.error.FFmpegError as err:
                raise DataError(self.path, f"frame {self.frames_decoded}", f"decoding failed: {err}") from None
        finally:
            container.close()

    def windows(self) -> Iterator[np.ndarray]:
        r = self.recipe
        offsets = r.offsets()
        needed = {o % r.stride for o in offsets}
        first = min(offsets)
        buffer: dict[int, np.ndarray] = {}
        held, held_rgb, k, t_next = None, None, 0, 0

        def emit(frame) -> Iterator[np.ndarray]:
            nonlocal held_rgb, k, t_next
            if k >= first and k % r.stride in needed:
                if held_rgb is None:
                    held_rgb = self._rgb(frame)
                buffer[k] = held_rgb
            k += 1
            if k == t_next * r.stride + r.num_frames:  # window t_next is complete
                base = t_next * r.stride
                yield np.stack([buffer[base + o] for o in offsets])
                t_next += 1
                for key in [key for key in buffer if key < t_next * r.stride + first]:
                    del buffer[key]

        end = 0.0
        for t, dur, frame in self._frames():
            while held is not None and k / r.fps < t - _EPS:
                yield from emit(held)
            if held is not frame:
                held, held_rgb = frame, None
            end = t + dur
        while held is not None and k / r.fps < end - _EPS:
            yield from emit(held)
        if self.frames_decoded == 0:
            raise DataError(self.path, None, "the video stream has no decodable frames")
        self.samples = k
        self.decoded_duration = end


def frames_at(path: str | os.PathLike, times: list[float], height: int = 96) -> list[np.ndarray]:
    """RGB uint8 thumbnails (``height`` px high) of the frames on screen at ``times`` seconds, decoded in one
    pass from the start (exact for any codec, no seeking)."""
    av = _av()
    p = Path(path)
    order = sorted(range(len(times)), key=lambda i: times[i])
    out: list[np.ndarray | None] = [None] * len(times)
    container = _open(p)
    try:
        stream = container.streams.video[0]
        tb = stream.time_base
        start = float(stream.start_time * tb) if stream.start_time is not None and tb else 0.0
        k, last, last_rgb = 0, None, None

        def rgb(frame) -> np.ndarray:
            w = max(1, round(frame.width * height / frame.height))
            return frame.to_ndarray(format="rgb24", width=w, height=height)

        try:
            for frame in container.decode(stream):
                t = float(frame.pts * frame.time_base) - start if frame.pts is not None else 0.0
                while k < len(order) and last is not None and times[order[k]] < t - _EPS:
                    last_rgb = rgb(last) if last_rgb is None else last_rgb
                    out[order[k]] = last_rgb
                    k += 1
                if k == len(order):
                    break
                last, last_rgb = frame, None
        except av.error.FFmpegError as err:
            raise DataError(p, None, f"decoding failed: {err}") from None
    finally:
        container.close()
    tail = rgb(last) if last is not None else None  # times past the last frame's start
    return [x if x is not None else tail for x in out]
