"""The names inside a run folder, in one place: ``train.run_dir.RunDir`` writes them, views and the CLI read
them (views do not import ``train``)."""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_FILE = "config.yaml"
INFO_FILE = "run.json"
TRAIN_LOG = "log.csv"
VAL_LOG = "metrics.csv"
METRICS_FILE = "metrics.json"
CHECKPOINTS_DIR = "checkpoints"
PREDICTIONS_DIR = "predictions"
TENSORBOARD_DIR = "tb"


def prediction_file(run_dir: str | os.PathLike, split: str, task: str) -> Path:
    """``<run>/predictions/<split>_<task>.csv``: the table ``unimd predict`` writes for one split and task."""
    return Path(run_dir) / PREDICTIONS_DIR / f"{split}_{task}.csv"
