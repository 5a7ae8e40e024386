"""A training run from a config: individual (TAD or MR), co-training (random or synchronized sampling) or
fine-tuning from another run, in a run folder that can be resumed exactly (``run.deterministic``)."""

from __future__ import annotations

import math
import os
import shutil
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel as DDP

from unimd_lib import __version__
from unimd_lib.config.load import Config
from unimd_lib.data.dataset import VideoDataset
from unimd_lib.data.torch_dataset import TorchVideoDataset, make_loader, make_sampler
from unimd_lib.errors import ConfigError, ExistsError, UsageError, is_input_error
from unimd_lib.model.unimd import UniMD
from unimd_lib.train.checkpoint import load_checkpoint, save_checkpoint
from unimd_lib.train.distributed import (
    ShardedBatches,
    barrier,
    init_world,
    release_wrapper,
    shutdown,
    use_global_batch_norm,
)
from unimd_lib.train.evaluate import PRIMARY, evaluate_predictions, protocol_of, selection_metric
from unimd_lib.train.loop import StepLog, train_one_epoch
from unimd_lib.train.optim import ModelEma, WarmupCosineSchedule, make_adamw
from unimd_lib.train.predict import predict_dataset, write_predictions
from unimd_lib.train.run_dir import TRAIN_LOG, VAL_LOG, RunDir
from unimd_lib.train.run_model import checkpoint_weights
from unimd_lib.train.runtime import configure, epoch_seed, grad_scaler

TASKS = ("tad", "mr", "all")
SAMPLING = ("random", "sync")


@dataclass
class TrainResult:
    run_dir: Path
    best_epoch: int | None
    best_metrics: dict[str, float] = field(default_factory=dict)
    last_metrics: dict[str, float] = field(default_factory=dict)
    epochs_run: int = 0


def _scheme(task: str, sampling: str) -> str:
    if task not in TASKS:
        raise UsageError(None, "task", f"must be one of {TASKS}, got {task!r}")
    if sampling not in SAMPLING:
        raise UsageError(None, "sampling", f"must be one of {SAMPLING}, got {sampling!r}")
    return "individual" if task != "all" else sampling


class Trainer:
    """Holds the pieces of a run; ``fit()`` trains (resuming from ``last.pt`` when asked) and validates."""

    def __init__(
        self,
        cfg: Config,
        out: str | os.PathLike,
        *,
        task: str = "all",
        sampling: str = "random",
        init_from: str | os.PathLike | None = None,
        progress: bool | None = None,
        on_validation: Callable[[int, dict[str, float]], None] | None = None,
        on_epoch: Callable[[str], None] | None = None,
    ):
        self.on_validation, self.on_epoch = on_validation, on_epoch
        self._epoch_losses: list[float] = []
        self.cfg, self.task, self.sampling, self.init_from = cfg, task, sampling, init_from
        self.scheme = _scheme(task, sampling)
        self.device = configure(cfg.run)
        self.world = init_world(self.device.type)
        if cfg.run.distributed and not self.world.active:
            hint = "launch with `torchrun --nproc_per_node N -m unimd_lib.cli train ...` (one process needs no switch)"
            raise ConfigError(cfg.source, "run.distributed", hint)
        if self.world.active and self.device.type == "cuda":
            self.device = torch.device("cuda", self.world.local_rank)
        self.progress = (cfg.run.progress if progress is None else progress) and self.world.is_main
        self.run = RunDir(out, writer=self.world.is_main, create=False)  # created by fit(), once inputs are checked
        data_tasks = task
        self.train_set = VideoDataset(cfg.data, cfg.data.train_split, data_tasks, cache=True)
        self.val_set = VideoDataset(cfg.data, cfg.data.val_split, data_tasks, training=False, cache=True)
        if cfg.loader.num_workers > 0:  # read once here: the persistent workers share this cache
            self.train_set.warm_cache()
        self.torch_train = TorchVideoDataset(self.train_set, seed=cfg.run.seed)
        self.sampler = make_sampler(
            self.train_set,
            self.scheme,
            cfg.loader.batch_size,
            cfg.run.seed,
            task_ratio=cfg.loader.sync_task_ratio,
            sync_fill=cfg.loader.sync_fill,
        )
        if cfg.loader.batch_size % self.world.size:
            raise ConfigError(cfg.source, "loader.batch_size", f"must split evenly over {self.world.size} processes")
        batches = ShardedBatches(self.sampler, self.world) if self.world.active else self.sampler
        self.loader = make_loader(self.torch_train, batches, training=True, num_workers=cfg.loader.num_workers)
        self.iters_per_epoch = len(self.sampler)
        if self.iters_per_epoch == 0:
            raise ConfigError(
                cfg.source,
                "loader.batch_size",
                f"no training step: {len(self.train_set)} videos for batch size {cfg.loader.batch_size} "
                f"({self.scheme} sampling)",
            )
        torch.manual_seed(cfg.run.seed)
        self.model = UniMD(cfg.model).to(self.device)
        if init_from is not None:
            self.model.load_state_dict(weights_from(init_from))
        self.forward_model: torch.nn.Module = self.model
        if self.world.active:
            use_global_batch_norm(self.model)
            ids = [self.device.index] if self.device.type == "cuda" else None
            # cls_head.norm.1 / reg_head.query_norm.2 exist (checkpoint layout) but are never used
            self.forward_model = DDP(self.model, device_ids=ids, find_unused_parameters=True)
        self.ema = ModelEma(self.model, cfg.run.ema_decay)
        self.optimizer = make_adamw(self.model, cfg.opt.learning_rate, cfg.opt.weight_decay)
        warmup = cfg.opt.warmup_epochs * self.iters_per_epoch if cfg.opt.warmup else 0
        self.schedule = WarmupCosineSchedule(
            self.optimizer, warmup_iters=warmup, total_iters=cfg.opt.total_epochs * self.iters_per_epoch
        )
        self.scaler = grad_scaler(self.device, cfg.run.amp)
        self.epoch = 0  # completed epochs
        self.iteration = 0
        self.best: dict = {"epoch": None, "value": -math.inf, "metrics": {}}
        self.last_metrics: dict[str, float] = {}

    # ---- state ---------------------------------------------------------------------------------------------
    def state(self) -> dict:
        return {
            "format": "unimd-workbench-run/1",
            "epoch": self.epoch,
            "iteration": self.iteration,
            "model": self.model.state_dict(),
            "ema": self.ema.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "scaler": self.scaler.state_dict(),
            "best": self.best,
            "task": self.task,
            "sampling": self.sampling,
        }

    def restore(self, state: dict) -> None:
        if (state.get("task"), state.get("sampling")) != (self.task, self.sampling):
            raise UsageError(
                self.run.last_checkpoint,
                "task",
                f"the run was --task {state.get('task')} --sampling {state.get('sampling')}, "
                f"not --task {self.task} --sampling {self.sampling}",
            )
        self.model.load_state_dict(state["model"])
        self.ema.load_state_dict(state["ema"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])
        self.scaler.load_state_dict(state["scaler"])
        self.epoch, self.iteration, self.best = int(state["epoch"]), int(state["iteration"]), state["best"]
        # rows logged after this checkpoint belong to the interrupted epoch: it is replayed
        self.run.truncate_rows(TRAIN_LOG, "iteration", self.iteration)
        self.run.truncate_rows(VAL_LOG, "epoch", self.epoch)

    # ---- running -------------------------------------------------------------------------------------------
    def _log_step(self, log: StepLog) -> None:
        self._epoch_losses.append(log.loss)
        if log.iteration % self.cfg.run.log_every == 0 or log.iteration == 1:
            self.run.append_row(TRAIN_LOG, log.as_row())
            self.run.scalars(log.iteration, {"train/loss": log.loss, "train/lr": log.lr})

    def validate(self) -> tuple[dict[str, float], dict]:
        preds = predict_dataset(self.ema.module, self.val_set, self.device, progress=self.progress, desc="validate")
        metrics = evaluate_predictions(self.cfg, preds)
        return metrics, preds

    def fit(self, *, resume: bool = False) -> TrainResult:
        """Train to the end. The run folder is created here, after the inputs were checked; an input error
        met before the first checkpoint removes a folder this call created (nothing half-written is left)."""
        if self.run.last_checkpoint.exists() and not resume:
            raise ExistsError(self.run.root, "checkpoints/last.pt", "already holds a run; pass --resume to continue it")
        created = self.world.is_main and not self.run.root.exists()
        self.run.create()
        finished = False
        try:
            result = self._fit(resume)
            finished = True
            return result
        except Exception as err:
            if created and is_input_error(err) and not self.run.last_checkpoint.exists():
                self.run.close()
                shutil.rmtree(self.run.root, ignore_errors=True)
            if self.world.active:  # the traceback's frames hold the DDP wrapper (see _leave_world)
                traceback.clear_frames(err.__traceback__)
            raise
        finally:
            self._leave_world(wait=finished)

    def _leave_world(self, *, wait: bool) -> None:
        """Drop the DDP wrapper, then the process group (no barrier on an error path: the others may be gone)."""
        if self.forward_model is not self.model and not release_wrapper(self, "forward_model", self.model):
            message = "the DistributedDataParallel wrapper outlived its run; leaving the process group may hang"
            if wait:
                raise RuntimeError(message)
            warnings.warn(message, RuntimeWarning, stacklevel=2)
        shutdown(self.world, wait=wait)

    def _fit(self, resume: bool) -> TrainResult:
        cfg = self.cfg
        if resume and self.run.last_checkpoint.exists():
            self.restore(load_checkpoint(self.run.last_checkpoint, map_location=self.device))
        else:  # a fresh start in a folder without a checkpoint: rows of an earlier attempt are dropped
            self.run.truncate_rows(TRAIN_LOG, "iteration", 0)
            self.run.truncate_rows(VAL_LOG, "epoch", 0)
        self.run.write_config(cfg.to_yaml())
        self.run.write_info(
            {
                "task": self.task,
                "sampling": self.sampling,
                "config_source": cfg.source,
                "data_base": str(cfg.data_base),
                "init_from": None if self.init_from is None else str(self.init_from),
                "workbench": __version__,
                "torch": torch.__version__,
            }
        )
        total = cfg.opt.run_epochs
        while self.epoch < total:
            epoch, started = self.epoch, time.perf_counter()
            self._epoch_losses = []
            self.sampler.set_epoch(epoch)
            self.torch_train.set_epoch(epoch)
            torch.manual_seed(epoch_seed(cfg.run.seed, epoch))
            self.iteration = train_one_epoch(
                model=self.model,
                loss_model=self.forward_model,
                batches=self.loader,
                optimizer=self.optimizer,
                schedule=self.schedule,
                ema=self.ema,
                device=self.device,
                epoch=epoch,
                iteration=self.iteration,
                clip_norm=cfg.model.train_cfg.clip_grad_l2norm,
                amp=cfg.run.amp,
                scaler=self.scaler,
                on_step=self._log_step,
                progress=self.progress,
                total=self.iters_per_epoch,
                world=self.world,
            )
            self.epoch = epoch + 1
            final = self.epoch == total
            validated = (self.epoch % cfg.run.val_every == 0 or final) and self.world.is_main
            if validated:
                self._after_validation(*self.validate())
            if self.on_epoch is not None and self.world.is_main:
                self.on_epoch(self._epoch_line(total, time.perf_counter() - started, validated))
            if (self.epoch % cfg.run.checkpoint_every == 0 or final) and self.world.is_main:
                save_checkpoint(self.run.last_checkpoint, self.state())
            barrier(self.world)
        self.run.write_metrics(
            {"best_epoch": self.best["epoch"], "best": self.best["metrics"], "last": self.last_metrics}
        )
        self.run.close()
        return TrainResult(self.run.root, self.best["epoch"], self.best["metrics"], self.last_metrics, self.epoch)

    def _epoch_line(self, total: int, seconds: float, validated: bool) -> str:
        """One line per epoch for logs (``unimd train`` prints it): mean loss, time, headline validation metrics."""
        finite = [x for x in self._epoch_losses if math.isfinite(x)]
        line = f"epoch {self.epoch}/{total}: loss {sum(finite) / max(len(finite), 1):.4f} over "
        line += f"{len(self._epoch_losses)} steps, {seconds:.1f} s"
        if validated:
            keys = [f"{t}/{PRIMARY[p]}" for t in ("tad", "mr") if (p := protocol_of(self.cfg, t)) is not None]
            line += "".join(f"; {k} {self.last_metrics[k]:.4f}" for k in keys if k in self.last_metrics)
        return line

    def _after_validation(self, metrics: dict[str, float], preds: dict) -> None:
        self.last_metrics = metrics
        self.run.append_row(VAL_LOG, {"epoch": self.epoch, "iteration": self.iteration, **metrics})
        self.run.scalars(self.iteration, {f"val/{k}": v for k, v in metrics.items()})
        if self.on_validation is not None:
            self.on_validation(self.epoch, metrics)
        key = selection_metric(self.cfg, self.task)
        value = metrics.get(key, -math.inf) if key else -math.inf
        if key is None or value >= self.best["value"]:  # ties go to the later epoch, as the original
            self.best = {"epoch": self.epoch, "value": value, "metrics": metrics, "key": key}
            save_checkpoint(
                self.run.best_checkpoint,
                {"format": "unimd-workbench-best/1", "epoch": self.epoch, "model": self.ema.state_dict(),
                 "metrics": metrics, "task": self.task},
            )  # fmt: skip
            for task, df in preds.items():
                write_predictions(df, self.run.prediction_file(self.cfg.data.val_split, task))


def weights_from(source: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Model weights to start from: a run folder (its best, else last checkpoint; EMA weights) or a file."""
    p = Path(source)
    if p.is_dir():
        run = RunDir(p, writer=False)
        p = run.best_checkpoint if run.best_checkpoint.exists() else run.last_checkpoint
    return checkpoint_weights(load_checkpoint(p), p)


def train(
    cfg: Config,
    out: str | os.PathLike,
    *,
    task: str = "all",
    sampling: str = "random",
    resume: bool = False,
    init_from: str | os.PathLike | None = None,
    progress: bool | None = None,
    on_validation: Callable[[int, dict[str, float]], None] | None = None,
    on_epoch: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train ``cfg`` into the run folder ``out`` (library entry point of ``unimd train``). ``on_validation``
    is called with (epoch, metrics) after each validation (e.g. ``views.LiveCurves.on_validation``); ``on_epoch``
    with a one-line summary after each epoch (``unimd train`` prints it)."""
    trainer = Trainer(
        cfg,
        out,
        task=task,
        sampling=sampling,
        init_from=init_from,
        progress=progress,
        on_validation=on_validation,
        on_epoch=on_epoch,
    )
    return trainer.fit(resume=resume)
