"""A run is a folder: config snapshot, logs (CSV + TensorBoard), checkpoints (last + best), predictions and
metrics. This module owns the layout so the CLI, notebooks and views all find things in the same place."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

from unimd_lib.errors import NotFoundError
from unimd_lib.formats import run_layout as layout
from unimd_lib.formats.files import atomic_path, read_json, write_json_atomic, write_text_atomic
from unimd_lib.formats.run_layout import TRAIN_LOG, VAL_LOG

__all__ = ["TRAIN_LOG", "VAL_LOG", "RunDir", "read_rows"]


class RunDir:
    """Paths and append-only logs of one run. Only the main process of a distributed run writes."""

    def __init__(self, root: str | os.PathLike, *, writer: bool = True, create: bool = True):
        self.root = Path(root)
        self.writer = writer
        self._tb = None
        if create:
            self.create()

    def create(self) -> None:
        """Make the folder and its sub-folders (the writer only; a no-op for other processes)."""
        if self.writer:
            self.root.mkdir(parents=True, exist_ok=True)
            self.checkpoints.mkdir(exist_ok=True)
            self.predictions.mkdir(exist_ok=True)

    # layout --------------------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.root / layout.CONFIG_FILE

    @property
    def info_path(self) -> Path:
        return self.root / layout.INFO_FILE

    @property
    def checkpoints(self) -> Path:
        return self.root / layout.CHECKPOINTS_DIR

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoints / "last.pt"

    @property
    def best_checkpoint(self) -> Path:
        return self.checkpoints / "best.pt"

    @property
    def predictions(self) -> Path:
        return self.root / layout.PREDICTIONS_DIR

    def prediction_file(self, split: str, task: str) -> Path:
        return layout.prediction_file(self.root, split, task)

    @property
    def metrics_path(self) -> Path:
        return self.root / layout.METRICS_FILE

    @property
    def tensorboard_dir(self) -> Path:
        return self.root / layout.TENSORBOARD_DIR

    # writing -------------------------------------------------------------------------------------
    def write_config(self, text: str) -> None:
        if self.writer:
            write_text_atomic(self.config_path, text)

    def write_info(self, info: dict[str, Any]) -> None:
        if self.writer:
            write_json_atomic(self.info_path, info)

    def read_info(self) -> dict[str, Any]:
        if not self.root.is_dir():
            raise NotFoundError(self.root, None, "run folder not found")
        if not self.info_path.exists():
            raise NotFoundError(self.root, self.info_path.name, "not found (not a run folder written by `unimd train`)")
        return read_json(self.info_path)

    def write_metrics(self, metrics: dict[str, Any]) -> None:
        if self.writer:
            write_json_atomic(self.metrics_path, metrics)

    def append_row(self, name: str, row: dict[str, Any]) -> None:
        """Append one row to a CSV log; the header is written with the first row (new keys extend it)."""
        if not self.writer:
            return
        path = self.root / name
        rows = read_rows(path)
        fields = list(rows[0].keys()) if rows else []
        new_fields = [k for k in row if k not in fields]
        if new_fields and rows:  # rewrite with the widened header (rare: first validation adds metrics)
            fields += new_fields
            self._rewrite(path, fields, [*rows, row])
            return
        fields += new_fields
        exists = path.exists()
        with open(path, "a", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=fields)
            if not exists:
                w.writeheader()
            w.writerow(row)

    def truncate_rows(self, name: str, column: str, last_value: float) -> None:
        """Drop rows written after a checkpoint (``row[column] > last_value``) so a resumed run does not
        log the same iterations twice."""
        if not self.writer:
            return
        path = self.root / name
        rows = read_rows(path)
        if rows:
            kept = [r for r in rows if float(r[column]) <= last_value]
            self._rewrite(path, list(rows[0].keys()), kept)

    @staticmethod
    def _rewrite(path: Path, fields: list[str], rows: list[dict]) -> None:
        with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=fields)
            w.writeheader()
            for r in rows:
                w.writerow({k: r.get(k, "") for k in fields})

    def scalars(self, step: int, values: dict[str, float]) -> None:
        """TensorBoard scalars (created lazily: importing tensorboard costs ~1 s)."""
        if not self.writer:
            return
        if self._tb is None:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(self.tensorboard_dir))
        for key, value in values.items():
            self._tb.add_scalar(key, value, step)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None


def read_rows(path: str | os.PathLike) -> list[dict[str, str]]:
    p = Path(path)
    if not p.exists():
        return []
    with open(p, newline="") as fh:
        return list(csv.DictReader(fh))
