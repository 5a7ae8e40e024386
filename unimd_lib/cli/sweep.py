"""``unimd sweep`` (one run definition over several seeds) and ``unimd compare`` (the co-training claim)."""

from __future__ import annotations

import argparse

from unimd_lib.cli.train import add_config_args, config_from_args
from unimd_lib.train.compare import compare_schemes, comparison_markdown
from unimd_lib.train.sweep import sweep
from unimd_lib.train.trainer import SAMPLING, TASKS

COMPARE_METRICS = ("tad/average_mAP", "tad/mAP@0.50", "mr/R1@0.30", "mr/R1@0.50", "mr/R5@0.30")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "sweep",
        help="train one run definition with several seeds; mean ± std of every metric",
        description="Train the same run definition once per seed into OUT/seed_<s> (finished seeds are reused, "
        "interrupted ones resumed) and write OUT/runs.csv, OUT/summary.csv and OUT/summary.md.",
    )
    add_config_args(p)
    p.add_argument("--seeds", type=int, nargs="+", required=True)
    p.add_argument("--task", choices=TASKS, default="all")
    p.add_argument("--sampling", choices=SAMPLING, default="random")
    p.add_argument("--pretrain-task", choices=("tad", "mr"), help="pre-train on this task, then fine-tune --task")
    p.add_argument("--out", required=True)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run_sweep)

    c = subparsers.add_parser(
        "compare",
        help="individual vs random vs sync co-training vs pre-train → fine-tune, over seeds",
        description="The co-training claim in miniature: six trainings per seed (TAD alone, MR alone, random, sync, "
        "TAD→MR, MR→TAD) under OUT/seed_<s>/, then a table of mean ± std per scheme (OUT/summary.md).",
    )
    add_config_args(c)
    c.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    c.add_argument("--out", required=True)
    c.add_argument("--no-progress", action="store_true")
    c.set_defaults(func=run_compare)


def run_sweep(args: argparse.Namespace) -> int:
    summary = sweep(
        config_from_args(args),
        args.out,
        args.seeds,
        task=args.task,
        sampling=args.sampling,
        pretrain_task=args.pretrain_task,
        progress=False if args.no_progress else None,
    )
    print(summary.to_string(index=False))
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from unimd_lib.formats.files import write_text_atomic

    progress = False if args.no_progress else None
    _, summary = compare_schemes(config_from_args(args), args.out, args.seeds, progress=progress)
    table = comparison_markdown(summary, COMPARE_METRICS)
    write_text_atomic(f"{args.out}/summary.md", table)
    print(table)
    return 0
