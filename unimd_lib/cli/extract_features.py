"""``unimd extract-features``: video files → ``<video_id>.npy`` features on the workbench's grid, with
``manifest.json`` and ``failures.csv``; under ``torchrun`` each process extracts its shard of the video list."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from unimd_lib.video.recipe import RECIPES


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "extract-features",
        help="extract features from video files (PyAV + CLIP or your encoder)",
        description="Decode videos with PyAV, sample frames by timestamps with a recipe (fps, window, stride) so "
        "that feature t covers the seconds the workbench's grid assigns to it, encode them and write "
        "OUT/<video_id>.npy [T, C] float32, OUT/manifest.json (recipe, encoder, weights sha256, per-video "
        "alignment check) and OUT/failures.csv. Videos already done are skipped. Scale out with "
        "`torchrun --nproc_per_node K -m unimd_lib.cli extract-features ...` (the list is sharded by rank).",
    )
    p.add_argument("input", help="a folder of videos, a list file (.txt: one path a line) or one video file")
    p.add_argument("--encoder", required=True, help="clip, or package.module:function (a factory of a torch module)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--weights", help="encoder checkpoint: a file or Hugging Face folder (required for clip)")
    p.add_argument("--recipe", default="charades_clip", help=f"named recipe: {', '.join(RECIPES)}")
    p.add_argument("--fps", type=float, help="override: sampling rate")
    p.add_argument("--num-frames", type=int, help="override: frames per feature window")
    p.add_argument("--stride", type=int, help="override: frames between features")
    p.add_argument("--frames", type=int, help="override: frames per window handed to the encoder")
    p.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), help="override: frame size for the encoder")
    p.add_argument("--resize", choices=("crop", "stretch"), help="override: short side + centre crop, or stretch")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")
    p.add_argument("--batch-size", type=int, default=32, help="features per encoder call")
    p.add_argument("--tolerance", type=int, default=1, help="alignment check: allowed |T - T_expected|")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from unimd_lib.train.distributed import barrier, init_world, shutdown
    from unimd_lib.train.runtime import pick_device
    from unimd_lib.video import extract_many, finalize, list_videos, load_encoder, resolve_recipe, shard

    size = args.size or (None, None)
    recipe = resolve_recipe(
        args.recipe, fps=args.fps, num_frames=args.num_frames, stride=args.stride, frames=args.frames,
        height=size[0], width=size[1], resize=args.resize,
    )  # fmt: skip
    videos = list_videos(args.input)
    device = pick_device(args.device)
    world = init_world(device.type)
    if device.type == "cuda" and world.active:
        device = torch.device("cuda", world.local_rank)
    encoder = load_encoder(args.encoder, weights=args.weights, device=device)
    mine = shard(videos, world.rank, world.size)
    t0 = time.perf_counter()
    summary = extract_many(
        mine, args.out, recipe, encoder, device=str(device), batch_size=args.batch_size,
        tolerance=args.tolerance, progress=not args.no_progress and world.is_main,
    )  # fmt: skip
    if world.active:  # what this process did: each video is extracted by exactly one process
        print(json.dumps({"rank": world.rank, "extracted": summary.done, "failed": summary.failed}), flush=True)
    barrier(world)
    if world.is_main:
        manifest = finalize(args.out)
        print(json.dumps({
            "out": os.fspath(args.out), "videos": len(manifest["videos"]), "failures": manifest["failures"],
            "extracted_here": len(summary.done), "skipped_here": len(summary.skipped),
            "processes": world.size, "seconds": round(time.perf_counter() - t0, 2),
        }))  # fmt: skip
    if summary.failed:
        print(f"extract-features: {len(summary.failed)} video(s) failed here; reasons in {args.out}/failures.csv",
              file=sys.stderr)  # fmt: skip
    shutdown(world)
    return 0
