"""``unimd query``: ask a trained run a free-text question about one video; ranked moments in seconds."""

from __future__ import annotations

import argparse
import json

import numpy as np

from unimd_lib.errors import UsageError
from unimd_lib.train.query import query_moments


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "query",
        help="ranked moments of a free-text query in one video",
        description="Embed --text with the encoder the run's queries were embedded with (its manifest.json) and "
        "print the top moments (t_start, t_end in seconds, score) of a dataset video (--video-id) or of any video "
        "given as features on the run's feature grid (--features FILE.npy, [T, C]).",
    )
    p.add_argument("--run", required=True, help="run folder written by `unimd train`")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--video-id", help="a video of the run's dataset (validation or training split)")
    src.add_argument("--features", help="a .npy [T, C] of a video outside the dataset")
    src.add_argument("--video", help="a video file: features extracted (cached) with --encoder / --recipe")
    p.add_argument("--fps", type=float, help="--features: frame rate (default: the config's, else 30)")
    p.add_argument("--encoder", help="--video: image encoder (clip, or pkg.mod:factory), as for extract-features")
    p.add_argument("--weights", help="--video: the encoder's weights file or folder")
    p.add_argument("--recipe", default="charades_clip", help="--video: sampling recipe (default charades_clip)")
    p.add_argument("--cache", default=".unimd_cache/features", help="--video: feature cache folder")
    p.add_argument("--text", action="append", help="the query (repeat for several)")
    p.add_argument(
        "--classes",
        nargs="*",
        help="TAD instead of --text: class names of the run's vocabulary (none listed: every class); with "
        "--video or --features",
    )
    p.add_argument("--top-k", type=int, default=5)
    p.add_argument("--checkpoint", choices=("best", "last"), default="best")
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true", help="one JSON list of {t_start, t_end, score} (one --text)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if (args.text is None) == (args.classes is None):
        raise UsageError(None, "--text", "give --text (moment retrieval) or --classes (detection), not both")
    if args.json and len(args.text or args.classes or [None, None]) != 1:
        raise UsageError(None, "--json", "takes exactly one --text or one class")
    feats, fps = _features(args)
    if args.classes is not None:
        return _print(args, _class_moments(args, feats, fps))
    df = query_moments(
        args.run, args.text, video_id=args.video_id, features=feats, top_k=args.top_k,
        checkpoint=args.checkpoint, fps=fps, device=args.device,
    )  # fmt: skip
    return _print(args, df)


def _class_moments(args: argparse.Namespace, feats: np.ndarray | None, fps: float | None):
    """TAD on a video outside the dataset: the run's class queries (``train.video_moments``)."""
    if feats is None:
        raise UsageError(None, "--classes", "needs --video or --features")
    from unimd_lib.train.run_model import open_run
    from unimd_lib.train.video_moments import moments_in_features

    trained = open_run(args.run, checkpoint=args.checkpoint, device=args.device)
    fps = fps if fps is not None else (trained.cfg.data.default_fps or 30.0)
    return moments_in_features(trained, feats, fps=fps, classes=args.classes or None, top_k=args.top_k)


def _print(args: argparse.Namespace, df) -> int:
    if args.json:
        rows = [
            {"t_start": float(r.t_start), "t_end": float(r.t_end), "score": float(r.score)} for r in df.itertuples()
        ]
        print(json.dumps(rows))
        return 0
    for text, g in df.groupby("query", sort=False):
        print(text)
        for rank, r in enumerate(g.itertuples(), 1):
            print(f"  {rank:>2}. {r.t_start:9.2f} s – {r.t_end:9.2f} s   score {r.score:.4f}")
    return 0


def _features(args: argparse.Namespace) -> tuple[np.ndarray | None, float | None]:
    """The [T, C] features of --features or --video (extracted once, then read from the cache), and their fps."""
    if args.features is not None:
        from unimd_lib.formats.arrays import load_array

        return load_array(args.features, None), args.fps
    if args.video is None:
        return None, args.fps
    if not args.encoder:
        raise UsageError(None, "--encoder", "--video needs the image encoder the run's features were made with")
    from unimd_lib.video import extract_cached, resolve_recipe

    recipe = resolve_recipe(args.recipe)
    device = "cpu" if args.device == "auto" else args.device
    feats = extract_cached(
        args.video, recipe=recipe, encoder=args.encoder, cache_dir=args.cache, weights=args.weights, device=device
    )
    return feats, recipe.fps
