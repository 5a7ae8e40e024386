"""Small videos written with PyAV, for tests, the notebook's default and the benchmarks: a drifting colour
gradient with coloured squares shown during given intervals (so features change where "events" happen),
at a constant or a variable frame rate, in any codec/container FFmpeg writes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

from unimd_lib.formats.files import atomic_path

# (start s, end s, RGB colour) of the squares; the default: three short events in a 12 s clip
DEFAULT_EVENTS = ((2.0, 4.0, (230, 40, 40)), (6.0, 7.0, (40, 200, 60)), (9.0, 11.0, (40, 80, 230)))


def frame_at(t: float, width: int, height: int, events: Sequence = DEFAULT_EVENTS) -> np.ndarray:
    """The RGB uint8 [H, W, 3] image shown at ``t`` seconds."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.stack(
        [
            127 + 100 * np.sin(0.05 * x + 0.7 * t),
            127 + 100 * np.sin(0.05 * y - 0.4 * t),
            np.full_like(x, 127 + 100 * np.sin(0.3 * t)),
        ],
        axis=-1,
    )
    for start, end, colour in events:
        if start <= t < end:
            h0, w0 = height // 4, width // 4
            img[h0 : height - h0, w0 : width - w0] = colour
    return img.clip(0, 255).astype(np.uint8)


def write_video(
    path: str | os.PathLike,
    *,
    duration: float = 12.0,
    fps: float = 30.0,
    width: int = 96,
    height: int = 64,
    codec: str = "mpeg4",
    pix_fmt: str = "yuv420p",
    times: Sequence[float] | None = None,
    events: Sequence = DEFAULT_EVENTS,
) -> Path:
    """Write a video of ``duration`` s at ``fps`` (or with frames at the given ``times``, seconds: a variable
    frame rate) and return its path. Written to a temporary name first, so no half-written file remains."""
    import av

    out = Path(path)
    rate = Fraction(fps).limit_denominator(1001)
    if times is None:  # constant rate: pts counts frames
        time_base, pts = 1 / rate, list(range(round(duration * fps)))
        times = [float(p * time_base) for p in pts]
    else:  # variable rate: millisecond timestamps
        time_base = Fraction(1, 1000)
        pts = [round(t * 1000) for t in times]
    with atomic_path(out) as tmp:
        tmp_named = tmp.with_suffix(out.suffix)  # FFmpeg picks the container from the suffix
        with av.open(str(tmp_named), "w") as container:
            stream = container.add_stream(codec, rate=rate)
            stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
            stream.codec_context.time_base = time_base
            stream.time_base = time_base
            for t, p in zip(times, pts):
                frame = av.VideoFrame.from_ndarray(frame_at(t, width, height, events), format="rgb24")
                frame.pts, frame.time_base = p, time_base
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        os.replace(tmp_named, tmp)
    return out
