"""A finished (or running) run folder opened for inference: its config, its info and its EMA model."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from unimd_lib.config.load import Config, load_config
from unimd_lib.data.dataset import VideoDataset
from unimd_lib.errors import DataError
from unimd_lib.model.unimd import UniMD
from unimd_lib.train.checkpoint import load_checkpoint
from unimd_lib.train.run_dir import RunDir
from unimd_lib.train.runtime import pick_device


def load_run_config(run_dir: str | os.PathLike) -> tuple[Config, dict]:
    """The config a run was trained with (its snapshot, absolute paths) and ``run.json``."""
    run = RunDir(run_dir, writer=False)
    info = run.read_info()
    return load_config(run.config_path), info


def checkpoint_weights(state: dict, source: str | os.PathLike = "checkpoint") -> dict[str, torch.Tensor]:
    """The weights to evaluate from a workbench checkpoint: the EMA model (``best.pt`` stores only that)."""
    if "ema" in state:
        return state["ema"]
    if "model" in state:
        return state["model"]
    raise DataError(source, None, "not a workbench checkpoint (no 'model' or 'ema' entry)")


@dataclass
class TrainedRun:
    cfg: Config
    info: dict
    model: UniMD
    device: torch.device
    run: RunDir

    def dataset(self, split: str | None = None) -> VideoDataset:
        """The run's tasks on ``split`` (default: the validation split), as evaluated."""
        return VideoDataset(self.cfg.data, split or self.cfg.data.val_split, self.info["task"], training=False)


def open_run(run_dir: str | os.PathLike, *, checkpoint: str = "best", device: str = "auto") -> TrainedRun:
    """Load a run's ``best`` or ``last`` checkpoint (EMA weights) into its model on ``device``."""
    cfg, info = load_run_config(run_dir)
    run = RunDir(run_dir, writer=False)
    path = {"best": run.best_checkpoint, "last": run.last_checkpoint}.get(checkpoint)
    if path is None:
        raise ValueError(f"checkpoint must be 'best' or 'last', got {checkpoint!r}")
    dev = pick_device(device)
    model = UniMD(cfg.model).to(dev)
    model.load_state_dict(checkpoint_weights(load_checkpoint(path, map_location=dev), path))
    model.eval()
    return TrainedRun(cfg, info, model, dev, run)
