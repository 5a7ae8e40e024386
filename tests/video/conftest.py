"""Videos written with PyAV at test time (known duration and fps, variable frame rate, odd size, bad files)
and a tiny CLIP image tower. The whole folder needs the `video` extra (PyAV, transformers)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av", reason="the `video` extra (PyAV) is not installed")

from unimd_lib.video.synthetic import write_video  # noqa: E402


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Exact comparisons of features (CLI vs in-process, 1 vs 2 processes) need one intra-op thread: an earlier
    test in the same worker may have set another count (``run.num_threads``), and float sums follow it."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


TOY = "unimd_lib.video.toy:make_encoder"
# a CLIP image tower small enough for fast tests (ViT-B/32 layout, fewer and narrower layers; 64-d heads as in
# every released CLIP, which is what a plain state-dict file is read back with)
TINY_CLIP = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=1,
                 patch_size=16, image_size=64, projection_dim=24)  # fmt: skip


def write_grey_frames(path: Path, times: list[float], size=(48, 32)) -> Path:
    """Frame i is a flat grey of level 20·(i + 1), shown from ``times[i]`` (lossless ffv1, ms timestamps)."""
    import av

    tb = Fraction(1, 1000)
    with av.open(str(path), "w") as c:
        s = c.add_stream("ffv1", rate=30)
        s.width, s.height, s.pix_fmt = size[0], size[1], "yuv444p"
        s.codec_context.time_base, s.time_base = tb, tb
        for i, t in enumerate(times):
            f = av.VideoFrame.from_ndarray(np.full((size[1], size[0], 3), 20 * (i + 1), np.uint8), format="rgb24")
            f.pts, f.time_base = round(t * 1000), tb
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


@pytest.fixture(scope="session")
def videos(tmp_path_factory) -> dict[str, Path]:
    """Good and bad videos; the folder ``videos["dir"]`` holds all of them."""
    import av

    d = tmp_path_factory.mktemp("videos")
    out = {
        "cfr": write_video(d / "cfr.mp4", duration=12.0, fps=30.0),
        "ntsc": write_video(d / "ntsc.mp4", duration=10.0, fps=30000 / 1001),
        "odd": write_video(d / "odd.mkv", duration=5.0, fps=25.0, width=97, height=75, codec="ffv1",
                           pix_fmt="yuv444p"),
        "vfr": write_video(d / "vfr.mkv", times=[0.0, 0.4, 0.45, 1.3, 2.0, 2.05, 2.1, 3.9], fps=30.0),
    }  # fmt: skip
    full = write_video(d.parent / "full_for_truncation.mkv", duration=12.0)
    data = full.read_bytes()
    (d / "truncated.mkv").write_bytes(data[: int(len(data) * 0.6)])
    (d / "corrupt.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    (d / "empty.mp4").write_bytes(b"")
    with av.open(str(d / "audio_only.mp4"), "w") as c:  # a valid file without a video stream
        s = c.add_stream("aac", rate=16000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 16000
        for p in [*s.encode(frame), *s.encode()]:
            c.mux(p)
    out["dir"] = d
    return out
