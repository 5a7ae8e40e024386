"""``unimd predict``: a trained run's detections on a split, as the CSVs ``unimd evaluate`` reads."""

from __future__ import annotations

import argparse
import json

from unimd_lib.train.predict import BATCH_SIZE, predict_run
from unimd_lib.train.run_dir import RunDir
from unimd_lib.train.run_model import load_run_config


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "predict",
        help="write a run's predictions on a split",
        description="Run a trained model (EMA weights of its best or last checkpoint) over a split and write "
        "RUN/predictions/<split>_<task>.csv (TAD: video_id,t_start,t_end,label,score; "
        "MR: video_id,query_index,t_start,t_end,score).",
    )
    p.add_argument("--run", required=True, help="run folder written by `unimd train`")
    p.add_argument("--split", help="split name (default: the config's validation split)")
    p.add_argument("--checkpoint", choices=("best", "last"), default="best")
    p.add_argument("--device", default="auto")
    p.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="videos per forward pass (default %(default)s)")
    p.add_argument("--amp", choices=("none", "bf16", "fp16"), default="none", help="autocast of the forward pass")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    preds = predict_run(
        args.run, args.split, checkpoint=args.checkpoint, device=args.device, batch_size=args.batch_size,
        amp=args.amp, progress=not args.no_progress,
    )  # fmt: skip
    split = args.split or load_run_config(args.run)[0].data.val_split
    files = {task: str(RunDir(args.run, writer=False).prediction_file(split, task)) for task in preds}
    print(json.dumps({"rows": {t: len(df) for t, df in preds.items()}, "files": files}))
    return 0
