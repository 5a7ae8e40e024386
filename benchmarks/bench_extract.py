"""Benchmark: feature extraction throughput against decode-only on the same video (how close extraction gets to
the decoder's limit).

    python benchmarks/bench_extract.py                       # a 60 s 640x360 video written with PyAV
    python benchmarks/bench_extract.py --video FILE          # your video
    python benchmarks/bench_extract.py --clip-weights W.pt   # + the CLIP image tower from a checkpoint
    python benchmarks/bench_extract.py --vit-b32-random      # + a random-initialised ViT-B/32 image tower

Rows: (1) decode only: every frame decoded, nothing converted; (2) decode + sample + resize: the frames a recipe
needs, converted to RGB at the encoder's size (the decoding side of extraction); (3) full extraction with an
encoder (decoding runs in a background thread, overlapping the encoder). Prints wall-clock seconds, decoded
frames per second and video seconds per wall second (best of two runs); numbers depend on the machine and its
load.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import torch  # noqa: E402

from unimd_lib.video import FrameSampler, extract_video, load_encoder, probe, resolve_recipe  # noqa: E402
from unimd_lib.video.encoders import ClipImageEncoder, Encoder  # noqa: E402
from unimd_lib.video.synthetic import write_video  # noqa: E402


def best(fn, *args, repeats: int = 2) -> tuple[float, int]:
    """The fastest of ``repeats`` runs (the first also warms caches and thread pools)."""
    return min(fn(*args) for _ in range(repeats))


def decode_only(path: Path) -> tuple[float, int]:
    import av

    t0 = time.perf_counter()
    n = 0
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"
        for _ in c.decode(stream):
            n += 1
    return time.perf_counter() - t0, n


def sample_only(path: Path, recipe) -> tuple[float, int]:
    t0 = time.perf_counter()
    sampler = FrameSampler(path, recipe)
    windows = sum(1 for _ in sampler.windows())
    return time.perf_counter() - t0, windows


def full(path: Path, recipe, encoder: Encoder, device: str, batch: int) -> tuple[float, int]:
    t0 = time.perf_counter()
    feats, _ = extract_video(path, recipe, encoder, device=device, batch_size=batch)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - t0, feats.shape[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", type=Path)
    ap.add_argument("--seconds", type=float, default=60.0, help="length of the generated video")
    ap.add_argument("--recipe", default="charades_clip")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--clip-weights", help="a CLIP checkpoint (file or folder) for the clip row")
    ap.add_argument("--vit-b32-random", action="store_true", help="a CLIP row with a random ViT-B/32 image tower")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    path = args.video or write_video(Path(tmp.name) / "bench.mp4", duration=args.seconds, fps=30.0, width=640,
                                     height=360)  # fmt: skip
    info = probe(path)
    recipe = resolve_recipe(args.recipe)
    print(f"video: {path.name}, {info.duration:.1f} s, {info.width}x{info.height} {info.codec} at {info.fps:.2f} fps; "
          f"recipe {recipe.name} ({recipe.fps:g} fps, stride {recipe.stride}, {recipe.frames} frame(s) of "
          f"{recipe.height}x{recipe.width}); device {args.device}; torch threads {torch.get_num_threads()}; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")  # fmt: skip
    dec_s, frames = best(decode_only, path)
    rows = [("decode only (all frames)", dec_s, f"{frames} frames")]
    s, n = best(sample_only, path, recipe)
    rows.append(("decode + sample + RGB resize", s, f"{n} windows"))
    encoders = {"toy encoder (4x4 pooling)": load_encoder("unimd_lib.video.toy:make_encoder", device=args.device)}
    if args.clip_weights:
        encoders["CLIP image tower (weights)"] = load_encoder("clip", weights=args.clip_weights, device=args.device)
    if args.vit_b32_random:
        from unimd_lib.video.clip_weights import build_clip_vision

        tower = build_clip_vision(
            dict(
                hidden_size=768,
                intermediate_size=3072,
                num_hidden_layers=12,
                num_attention_heads=12,
                patch_size=32,
                image_size=224,
                projection_dim=512,
            )
        )
        encoders["CLIP ViT-B/32 (random weights)"] = Encoder(ClipImageEncoder(tower).to(args.device).eval(),
                                                            "clip", None, None)  # fmt: skip
    for name, enc in encoders.items():
        s, n = best(full, path, recipe, enc, args.device, args.batch_size, repeats=1 if "ViT" in name else 2)
        rows.append((f"extraction, {name}", s, f"{n} features"))
    print(f"\n{'what':48s} {'wall s':>8s} {'frames/s':>9s} {'video s/s':>9s} {'vs decode':>9s}  output")
    for name, s, what in rows:
        print(f"{name:48s} {s:8.2f} {frames / s:9.0f} {info.duration / s:9.1f} {dec_s / s:9.2f}  {what}")


if __name__ == "__main__":
    main()
