"""Optimisation, loader, run and evaluation sections. ``opt`` and ``loader`` keep the original key names
and defaults (spec §2, §5); ``run`` and ``eval`` are the workbench's own."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class OptConfig:
    """AdamW + linear warm-up + cosine, stepped per iteration (spec §5). ``early_stop_epochs`` truncates the
    schedule: the run lasts that many epochs when set, else ``epochs + warmup_epochs``."""

    type: str = "AdamW"
    learning_rate: float = 1e-3
    epochs: int = 30
    warmup: bool = True
    warmup_epochs: int = 5
    early_stop_epochs: int | None = None
    weight_decay: float = 0.05
    momentum: float = 0.9  # SGD only (kept for original configs)
    schedule_type: str = "cosine"
    schedule_steps: list[int] = field(default_factory=list)
    schedule_gamma: float = 0.1

    @property
    def total_epochs(self) -> int:
        """Epochs in the schedule (warm-up included)."""
        return self.epochs + (self.warmup_epochs if self.warmup else 0)

    @property
    def run_epochs(self) -> int:
        """Epochs actually run."""
        return self.early_stop_epochs if self.early_stop_epochs else self.total_epochs


@dataclass
class LoaderConfig:
    """``batch_size`` videos per step (synchronized co-training: per task in a TAD-only + MR-only step).
    ``sync_task_ratio`` (TAD, MR): videos of each task per such step, in batch units; ``sync_fill``: ``min``
    (the original: an epoch draws as many task-only videos of each task as the smaller set has) or ``max`` (as
    many as the larger set has; the smaller one repeats)."""

    batch_size: int = 8
    num_workers: int = 4
    sync_task_ratio: tuple[int, int] = (1, 1)
    sync_fill: str = "min"


@dataclass
class RunConfig:
    """How a run is executed (not part of the method)."""

    seed: int = 1234567891
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    deterministic: bool = False  # exact kill-and-resume; slower kernels on GPU
    amp: str = "none"  # none | bf16 | fp16 (autocast; a no-op where unsupported)
    val_every: int = 1  # epochs between validations
    checkpoint_every: int = 1  # epochs between "last" checkpoints
    ema_decay: float = 0.999
    log_every: int = 10  # iterations between log rows
    distributed: bool = False  # DistributedDataParallel under torchrun
    num_threads: int | None = None  # torch CPU threads (None = torch default)
    progress: bool = True  # tqdm bars


@dataclass
class EvalConfig:
    """Which protocol scores each task on the validation split and where its ground truth is.

    Protocols are those of ``unimd evaluate``; ``*_gt`` paths are resolved against the config file.
    ``select`` is the metric that picks the best checkpoint (``task/key``, e.g. ``tad/average_mAP``).
    """

    tad_protocol: str | None = None
    tad_gt: str | None = None
    mr_protocol: str | None = None
    mr_gt: str | None = None
    split: str | None = None
    select: str | None = None
    ext_scores: str | None = None
