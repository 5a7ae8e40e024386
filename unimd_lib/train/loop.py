"""One training epoch: forward → 3·L_TAD + 1·L_MR → backward → clip → AdamW → LR step → EMA (spec §3.13, §5)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from unimd_lib.data.batch import Batch
from unimd_lib.train.distributed import World, sum_over_processes
from unimd_lib.train.optim import ModelEma, WarmupCosineSchedule, clip_grad_l2norm
from unimd_lib.train.runtime import autocast

TASKS = ("tad", "mr")


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


def _global_tasks(batch: Batch | None, world: World) -> tuple[set[str] | None, Callable[[int], int] | None]:
    """Tasks of the global batch and a positive-count reducer (data-parallel only); ``(None, None)`` in a single
    process, where a ``None`` batch (every video without a task) gives the empty set."""
    if not world.active:
        return (None, None) if batch is not None else (set(), None)
    flags = [float(batch is None)] + [0.0 if batch is None else float(getattr(batch, t) is not None) for t in TASKS]
    summed = sum_over_processes(flags)
    if summed[0] > 0:  # a process has nothing to forward (rare: a shard of unannotated videos): skip everywhere
        return set(), None
    present = {t for t, f in zip(TASKS, summed[1:]) if f > 0}
    return present, lambda n: int(sum_over_processes([float(n)])[0])


def _global_losses(losses: dict, present: set[str] | None, world: World) -> tuple[float, float, float]:
    """Total and per-task (weighted-before) losses of the global batch, for logging."""
    local = [float(losses["loss"].detach()), _value(losses, "tad"), _value(losses, "mr")]
    if not world.active:
        return local[0], local[1], local[2]
    summed = sum_over_processes([0.0 if math.isnan(v) else v for v in local])
    return summed[0], *(summed[i + 1] if t in present else math.nan for i, t in enumerate(TASKS))


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
    world: World | None = None,
) -> int:
    """Train over ``batches``; returns the iteration counter after the epoch.

    ``model`` is the plain model (optimiser, loss); ``loss_model`` runs the forward (the DDP wrapper under
    torchrun, so gradients are all-reduced; else the model itself). A step without any task (every video of the
    batch unannotated, on every process) still advances the LR schedule, which keeps its per-iteration length.
    """
    world = world or World()
    model.train()
    bar = tqdm(batches, total=total, desc=f"epoch {epoch}", disable=not progress, leave=False)
    for batch in bar:
        start = time.perf_counter()
        present, reducer = _global_tasks(batch, world)
        if present is not None and not present:  # no process holds a task: skip the step everywhere
            schedule.step()
            iteration += 1
            continue
        batch = batch.to(device)
        optimizer.zero_grad(set_to_none=True)
        with autocast(device, amp):
            losses = model.loss(batch, loss_model(batch), present_tasks=present, count_reducer=reducer)
        loss = losses["loss"] * world.size  # DDP averages gradients over processes; the loss is a global sum
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
        total_loss, tad_loss, mr_loss = _global_losses(losses, present, world)
        log = StepLog(
            iteration=iteration,
            epoch=epoch,
            lr=lr,
            loss=total_loss,
            tad_loss=tad_loss,
            mr_loss=mr_loss,
            grad_norm=grad_norm,
            loss_normalizer=float(losses["loss_normalizer"]),
            seconds=time.perf_counter() - start,
        )
        bar.set_postfix(loss=f"{log.loss:.3f}", lr=f"{lr:.2e}")
        if on_step is not None:
            on_step(log)
    return iteration
