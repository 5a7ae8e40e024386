"""``unimd train``: train a config (individual TAD / MR, co-training, or fine-tuning) into a run folder."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from tqdm.auto import tqdm

from unimd_lib.config.load import Config, list_presets, load_config
from unimd_lib.config.overrides import parse_overrides
from unimd_lib.errors import UsageError
from unimd_lib.train.trainer import SAMPLING, TASKS, train


def add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, help=f"a YAML file or a preset ({', '.join(list_presets())})")
    p.add_argument("--data-root", help="folder relative data paths resolve against (default: see README)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set opt.epochs=3 (repeatable)")  # fmt: skip


def config_from_args(args: argparse.Namespace) -> Config:
    """The config named by ``--config`` / ``--set`` / ``--data-root``; errors in an override name ``--set``."""
    return load_config(
        args.config, overrides=parse_overrides(args.overrides), data_root=args.data_root, overrides_source="--set"
    )


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a config into a run folder",
        description="Train UniMD: --task tad|mr (individual), all (co-training with --sampling random|sync); "
        "--pretrain-from RUN starts from another run's weights (pre-train → fine-tune). Resumable with --resume.",
    )
    add_config_args(p)
    p.add_argument("--task", choices=TASKS, default="all")
    p.add_argument("--sampling", choices=SAMPLING, default="random", help="co-training scheme (--task all)")
    p.add_argument("--out", help="run folder (default: runs/<config>-<task>-<time>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--pretrain-from", help="run folder or checkpoint whose (EMA) weights initialise the model")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (one line per epoch is printed)")
    p.set_defaults(func=run)


def _epoch_line(line: str) -> None:
    # stderr, through tqdm (keeps any progress bar intact); stdout carries only the final JSON line
    tqdm.write(line, file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    if args.resume and not args.out:
        raise UsageError(None, "--resume", "needs --out RUN_DIR (the run to continue)")
    cfg = config_from_args(args)
    out = Path(args.out or f"runs/{cfg.name}-{args.task}-{time.strftime('%Y%m%d-%H%M%S')}")
    result = train(
        cfg,
        out,
        task=args.task,
        sampling=args.sampling,
        resume=args.resume,
        init_from=args.pretrain_from,
        progress=False if args.no_progress else None,
        on_epoch=_epoch_line,
    )
    if int(os.environ.get("RANK", "0")) == 0:  # one line per run, also under torchrun
        print(
            json.dumps({"run_dir": str(result.run_dir), "best_epoch": result.best_epoch, "best": result.best_metrics})
        )
    return 0
