"""Mixed-precision checks for a GPU machine: a few training steps under autocast (fp16 with the grad scaler, or bf16)
through the real training loop, and the loss trend of a finished run's ``log.csv``.

    python -m benchmarks.amp_check --config data/synthetic/config.yaml --amp fp16 --steps 3 --device cuda
    python -m benchmarks.amp_check --log runs/x/log.csv        # loss finite and decreasing?

Each prints one JSON object and exits 1 when the check fails. On a CPU, fp16 autocast and the scaler are no-ops
(``train.runtime``), so the fp16 check there only exercises the code path; bf16 autocast does run on a CPU.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from unimd_lib.config.load import Config


@dataclass
class AmpSteps:
    amp: str
    device: str
    scaler_enabled: bool
    scale: float | None  # the grad scaler's scale after the steps (None when disabled)
    losses: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)
    params_changed: bool = False

    @property
    def ok(self) -> bool:
        """Finite losses, and the weights moved (or, with fp16, the scaler backed off from an overflow)."""
        finite = bool(self.losses) and all(math.isfinite(x) for x in self.losses)
        scale_ok = self.scale is None or (math.isfinite(self.scale) and self.scale > 0)
        backed_off = self.scale is not None and self.scale < 65536.0  # GradScaler's initial scale
        return finite and scale_ok and (self.params_changed or backed_off)


def amp_steps(
    cfg: Config, *, amp: str = "fp16", steps: int = 3, device: str | None = None, task: str = "all"
) -> AmpSteps:
    """``steps`` optimiser steps of a fresh model on ``cfg``'s training split through ``train_one_epoch`` with
    ``amp`` autocast and the run's grad scaler (enabled for fp16 on CUDA)."""
    import torch

    from unimd_lib.data.dataset import VideoDataset
    from unimd_lib.data.torch_dataset import TorchVideoDataset, make_loader, make_sampler
    from unimd_lib.model.unimd import UniMD
    from unimd_lib.train.loop import train_one_epoch
    from unimd_lib.train.optim import WarmupCosineSchedule, make_adamw
    from unimd_lib.train.runtime import configure, grad_scaler, pick_device

    configure(cfg.run)
    dev = pick_device(device or cfg.run.device)
    train_set = VideoDataset(cfg.data, cfg.data.train_split, task)
    data = TorchVideoDataset(train_set, seed=cfg.run.seed)
    sampler = make_sampler(train_set, "individual" if task != "all" else "random", cfg.loader.batch_size, cfg.run.seed)
    sampler.set_epoch(0)
    data.set_epoch(0)
    loader = make_loader(data, sampler, training=True, num_workers=0)
    model = UniMD(cfg.model).to(dev)
    optimizer = make_adamw(model, cfg.opt.learning_rate, cfg.opt.weight_decay)
    schedule = WarmupCosineSchedule(optimizer, warmup_iters=0, total_iters=max(steps, 1))
    scaler = grad_scaler(dev, amp)
    before = [p.detach().clone() for p in model.parameters()]
    logs = []
    train_one_epoch(
        model=model, loss_model=model, batches=itertools.islice(loader, steps), optimizer=optimizer,
        schedule=schedule, ema=None, device=dev, epoch=0, iteration=0,
        clip_norm=cfg.model.train_cfg.clip_grad_l2norm, amp=amp, scaler=scaler, on_step=logs.append,
        progress=False, total=steps,
    )  # fmt: skip
    changed = any(not torch.equal(b, p.detach()) for b, p in zip(before, model.parameters(), strict=True))
    return AmpSteps(
        amp,
        str(dev),
        scaler.is_enabled(),
        float(scaler.get_scale()) if scaler.is_enabled() else None,
        [float(s.loss) for s in logs],
        [float(s.grad_norm) for s in logs],
        changed,
    )


def loss_trend(log_csv: str | os.PathLike, *, fraction: float = 0.25) -> dict:
    """Mean loss of the first and last ``fraction`` of the logged iterations of a run, and whether every logged loss
    is finite and the loss went down (``ok``)."""
    log = pd.read_csv(log_csv)
    loss = log["loss"].to_numpy(np.float64)
    k = max(1, int(len(loss) * fraction))
    first, last = float(np.mean(loss[:k])), float(np.mean(loss[-k:]))
    finite = bool(len(loss)) and bool(np.isfinite(loss).all())
    return dict(
        iterations=len(loss), first=first, last=last, finite=finite, ok=finite and len(loss) > 1 and last < first
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", help="config to take a few AMP steps on")
    ap.add_argument("--amp", choices=("fp16", "bf16", "none"), default="fp16")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--device", default=None, help="default: the config's run.device")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--log", help="a run's log.csv: check its loss trend instead")
    args = ap.parse_args(argv)
    if args.log:
        result = loss_trend(args.log)
    elif args.config:
        from unimd_lib.config.load import load_config
        from unimd_lib.config.overrides import parse_overrides

        cfg = load_config(Path(args.config), overrides=parse_overrides(args.overrides))
        res = amp_steps(cfg, amp=args.amp, steps=args.steps, device=args.device)
        result = {**asdict(res), "ok": res.ok}
    else:
        ap.error("give --config or --log")
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
