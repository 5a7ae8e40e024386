"""Run definitions made of one or two trainings: a single run (individual or co-training), or pre-training on
one task then fine-tuning on the other from its weights. Finished runs are read back, interrupted ones resumed,
so a sweep or a comparison can be re-issued after a crash and only redoes what is missing."""

from __future__ import annotations

import os
from pathlib import Path

from unimd_lib.config.load import Config
from unimd_lib.formats.files import read_json
from unimd_lib.train.run_dir import RunDir
from unimd_lib.train.trainer import TrainResult, train


def finished(out: str | os.PathLike) -> TrainResult | None:
    """The result of a completed run folder (``metrics.json`` written at the end), else None."""
    run = RunDir(out, writer=False)
    if not run.metrics_path.exists():
        return None
    m = read_json(run.metrics_path)
    return TrainResult(run.root, m.get("best_epoch"), m.get("best", {}), m.get("last", {}), m.get("epochs_run", 0))


def train_or_resume(cfg: Config, out: str | os.PathLike, **kwargs) -> TrainResult:
    done = finished(out)
    if done is not None:
        return done
    return train(cfg, out, resume=True, **kwargs)


def run_scheme(
    cfg: Config,
    out: str | os.PathLike,
    *,
    task: str = "all",
    sampling: str = "random",
    pretrain_task: str | None = None,
    init_from: str | os.PathLike | None = None,
    progress: bool | None = None,
    on_validation=None,
) -> TrainResult:
    """One run definition. With ``pretrain_task`` (``tad`` or ``mr``), first train that task alone into
    ``out/pretrain_<pretrain_task>``, then train ``task`` from its weights into ``out/finetune_<task>``."""
    if pretrain_task is None:
        return train_or_resume(
            cfg, out, task=task, sampling=sampling, init_from=init_from, progress=progress, on_validation=on_validation
        )
    if pretrain_task not in ("tad", "mr"):
        raise ValueError(f"pretrain_task must be 'tad' or 'mr', got {pretrain_task!r}")
    out = Path(out)
    first = train_or_resume(cfg, out / f"pretrain_{pretrain_task}", task=pretrain_task, init_from=init_from,
                            progress=progress)  # fmt: skip
    return train_or_resume(cfg, out / f"finetune_{task}", task=task, sampling=sampling, init_from=first.run_dir,
                           progress=progress, on_validation=on_validation)  # fmt: skip
