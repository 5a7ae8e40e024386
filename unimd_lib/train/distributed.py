"""DistributedDataParallel under ``torchrun``: one process per device (or per CPU slot with gloo), each
taking its shard of every global batch, so that N processes follow the single-process run: the same global
batch, the loss normaliser updated with the global number of positives, BatchNorm statistics over the
global batch, and gradients summed over the processes.

Single-process runs (the default, and notebooks) never touch ``torch.distributed``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_fn
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


def shutdown(world: World) -> None:
    if world.active and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


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


class GlobalBatchNorm1d(nn.BatchNorm1d):
    """BatchNorm1d whose training statistics are taken over the global batch of all processes.

    ``torch.nn.SyncBatchNorm`` only runs on GPUs; this version uses the differentiable all-reduce of
    ``torch.distributed.nn`` so it works with gloo on CPUs too (gradients flow through the statistics).
    Outside a process group it is a plain BatchNorm1d.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        dims = [0, 2] if x.dim() == 3 else [0]
        c = x.shape[1]
        shape = [1, c] + [1] * (x.dim() - 2)
        count = torch.full((1,), float(x.numel() // c), dtype=x.dtype, device=x.device)
        # two passes (mean, then squared deviations) for the same accuracy as the single-process kernel
        first = dist_fn.all_reduce(torch.cat([x.sum(dims), count]))
        n = first[-1]
        mean = first[:c] / n
        centred = x - mean.reshape(shape)
        var = dist_fn.all_reduce((centred * centred).sum(dims)) / n
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                m = self.momentum
                self.running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
                self.running_var.mul_(1 - m).add_(var.detach() * (n / (n - 1)), alpha=m)
        y = centred * torch.rsqrt(var.reshape(shape) + self.eps)
        return y * self.weight.reshape(shape) + self.bias.reshape(shape) if self.affine else y


def globalise_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every BatchNorm1d by a ``GlobalBatchNorm1d`` sharing its parameters and buffers."""
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm1d) and not isinstance(child, GlobalBatchNorm1d):
            new = GlobalBatchNorm1d(
                child.num_features, child.eps, child.momentum, child.affine, child.track_running_stats
            )
            new.load_state_dict(child.state_dict())
            new.to(next(child.parameters()).device if child.affine else "cpu")
            setattr(module, name, new)
        else:
            globalise_batchnorm(child)
    return module


__all__ = [
    "World",
    "init_world",
    "shutdown",
    "shard",
    "ShardedBatches",
    "sum_over_processes",
    "GlobalBatchNorm1d",
    "globalise_batchnorm",
]
