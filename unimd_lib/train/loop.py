"""One training epoch: forward → 3·L_TAD + 1·L_MR → backward → clip → AdamW → LR step → EMA (spec §3.13, §5)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from unimd_lib.data.batch import Batch
from unimd_lib.train.optim import ModelEma, WarmupCosineSchedule, clip_grad_l2norm
from unimd_lib.train.runtime import autocast


@dataclass
class StepLog:
    """What one iteration reports (losses are the weighted task terms before the backward)."""

    iteration: int
    epoch: int
    lr: float
    loss: float
    tad_loss: float
    mr_loss: float
    grad_norm: float
    loss_normalizer: float
    seconds: float

    def as_row(self) -> dict[str, float]:
        return dict(self.__dict__)


class NonFiniteLoss(RuntimeError):
    pass


def _value(losses: dict, task: str) -> float:
    return float(losses[task]["final_loss"].detach()) if task in losses else math.nan


def train_one_epoch(
    *,
    model: torch.nn.Module,
    loss_model: torch.nn.Module,
    batches: Iterable[Batch | None],
    optimizer: torch.optim.Optimizer,
    schedule: WarmupCosineSchedule,
    ema: ModelEma | None,
    device: torch.device,
    epoch: int,
    iteration: int,
    clip_norm: float,
    amp: str = "none",
    scaler: torch.amp.GradScaler | None = None,
    on_step: Callable[[StepLog], None] | None = None,
    progress: bool = True,
    total: int | None = None,
) -> int:
    """Train over ``batches``; returns the iteration counter after the epoch.

    ``model`` is the plain model (optimiser, loss); ``loss_model`` runs the forward (the DDP wrapper under
    torchrun, so gradients are all-reduced; else the model itself). A ``None`` batch (every video without a task) still
    advances the LR schedule, so the schedule keeps its per-iteration length.
    """
    model.train()
    bar = tqdm(batches, total=total, desc=f"epoch {epoch}", disable=not progress, leave=False)
    for batch in bar:
        start = time.perf_counter()
        if batch is None:
            schedule.step()
            iteration += 1
            continue
        batch = batch.to(device)
        optimizer.zero_grad(set_to_none=True)
        with autocast(device, amp):
            losses = model.loss(batch, loss_model(batch))
        loss = losses["loss"]
        if not torch.isfinite(loss):
            raise NonFiniteLoss(
                f"epoch {epoch}, iteration {iteration}: loss is {float(loss)} (videos {batch.video_ids})"
            )
        lr = schedule.get_last_lr()[0]
        if scaler is not None and scaler.is_enabled():
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            grad_norm = clip_grad_l2norm(model.parameters(), clip_norm)
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            grad_norm = clip_grad_l2norm(model.parameters(), clip_norm)
            optimizer.step()
        schedule.step()
        if ema is not None:
            ema.update(model)
        iteration += 1
        log = StepLog(
            iteration=iteration,
            epoch=epoch,
            lr=lr,
            loss=float(loss.detach()),
            tad_loss=_value(losses, "tad"),
            mr_loss=_value(losses, "mr"),
            grad_norm=grad_norm,
            loss_normalizer=float(losses["loss_normalizer"]),
            seconds=time.perf_counter() - start,
        )
        bar.set_postfix(loss=f"{log.loss:.3f}", lr=f"{lr:.2e}")
        if on_step is not None:
            on_step(log)
    return iteration
