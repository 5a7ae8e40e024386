"""Process-level settings of a run: device, threads, seeding, determinism and mixed precision."""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator

import numpy as np
import torch

from unimd_lib.config.train import RunConfig


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"run.device={name!r} but CUDA is not available; use 'auto' or 'cpu'")
    return device


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def epoch_seed(seed: int, epoch: int) -> int:
    """Seed of the torch RNG (dropout, drop-path) at the start of an epoch: an epoch's randomness depends
    only on (seed, epoch), so a run resumed at an epoch boundary replays it exactly."""
    return int(np.random.SeedSequence([seed, epoch, 0x51]).generate_state(1)[0])


def configure(run: RunConfig) -> torch.device:
    """Apply threads / determinism / seed and return the device."""
    if run.num_threads:
        torch.set_num_threads(run.num_threads)
    if run.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
    seed_everything(run.seed)
    return pick_device(run.device)


def autocast(device: torch.device, amp: str) -> contextlib.AbstractContextManager:
    """bf16/fp16 autocast where the device supports it; a no-op otherwise (and for ``amp='none'``)."""
    if amp == "none":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=dtype)
    if device.type == "cpu" and amp == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()  # fp16 autocast on CPU is not supported: run in float32


def grad_scaler(device: torch.device, amp: str) -> torch.amp.GradScaler:
    """A loss scaler for fp16 on CUDA; disabled (pass-through) otherwise."""
    return torch.amp.GradScaler(device.type, enabled=(amp == "fp16" and device.type == "cuda"))


@contextlib.contextmanager
def eval_mode(module: torch.nn.Module) -> Iterator[torch.nn.Module]:
    was = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was)
