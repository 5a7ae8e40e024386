"""DistributedDataParallel under ``torchrun``: one process per device (or per CPU slot with gloo), each
taking its shard of every global batch, so that N processes follow the single-process run: the same global
batch, the loss normaliser updated with the global number of positives, BatchNorm statistics over the
global batch, and the gradient of the global loss (each process's loss × N, as DDP averages).

Single-process runs (the default, and notebooks) never touch ``torch.distributed``.
"""

from __future__ import annotations

import gc
import os
import weakref
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.size > 1


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_world(device_type: str) -> World:
    """Join the process group ``torchrun`` set up (gloo on CPU, nccl on CUDA); a single process otherwise."""
    if not launched_by_torchrun():
        return World()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device_type == "cuda":
        torch.cuda.set_device(local)
    return World(dist.get_rank(), dist.get_world_size(), local)


def barrier(world: World) -> None:
    if world.active:
        dist.barrier()


def shutdown(world: World, *, wait: bool = True) -> None:
    """Leave the process group (after a barrier unless ``wait`` is false, as on an error path). Release every
    ``DistributedDataParallel`` wrapper first (see ``release_wrapper``)."""
    if world.active and dist.is_initialized():
        if wait:
            dist.barrier()
        dist.destroy_process_group()


def release_wrapper(holder: object, name: str, model: nn.Module) -> bool:
    """Replace ``holder.<name>``, a ``DistributedDataParallel`` wrapper of ``model``, by ``model`` and free the
    wrapper now, while the process group is still registered. True when the wrapper is gone.

    DDP's reducer holds a reference to the process group, and its destructor runs with the GIL held. Were it
    the last reference (the wrapper freed after ``destroy_process_group``), the group's destructor would join
    gloo's worker threads under the GIL while a worker freeing a finished collective waits for the GIL: a
    deadlock at exit, seen about once in a dozen 2-process runs on a busy 2-core machine."""
    alive = weakref.ref(getattr(holder, name))
    setattr(holder, name, model)
    gc.collect()  # DDP sits in reference cycles
    return alive() is None


def shard(indices: list[int], world: World) -> list[int]:
    """This process's contiguous share of one global batch (the batch size must divide evenly)."""
    if not world.active:
        return indices
    if len(indices) % world.size:
        raise ValueError(f"global batch of {len(indices)} videos does not split over {world.size} processes")
    per = len(indices) // world.size
    return indices[world.rank * per : (world.rank + 1) * per]


class ShardedBatches:
    """A ``batch_sampler`` that yields this process's share of each batch of another batch sampler."""

    def __init__(self, sampler, world: World):
        self.sampler, self.world = sampler, world

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    def __iter__(self):
        return (shard(list(b), self.world) for b in self.sampler)

    def __len__(self) -> int:
        return len(self.sampler)


def sum_over_processes(values: list[float]) -> list[float]:
    """Element-wise sum of small counters over all processes (identity without a process group)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return values
    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t)
    return t.tolist()


def use_global_batch_norm(model: nn.Module) -> None:
    """BatchNorm statistics over the global batch of all processes (see ``model.neck.MaskedBatchNorm1d``)."""
    from unimd_lib.model.neck import MaskedBatchNorm1d

    for m in model.modules():
        if isinstance(m, MaskedBatchNorm1d):
            m.global_stats = True


__all__ = [
    "World",
    "init_world",
    "barrier",
    "shutdown",
    "release_wrapper",
    "shard",
    "ShardedBatches",
    "sum_over_processes",
    "use_global_batch_norm",
]
