"""What the numbered notebooks share: their parameters map to a ``Config`` here, so the notebooks stay thin."""

from __future__ import annotations

import os
from pathlib import Path

from unimd_lib.config.load import Config, load_config
from unimd_lib.config.overrides import parse_overrides
from unimd_lib.data.synthetic import ensure_generated

# a tiny model and a single short epoch: notebooks run end to end in seconds (CI, smoke tests)
QUICK_OVERRIDES = (
    "model.embd_dim=32",
    "model.fpn_dim=32",
    "model.head_dim=32",
    "model.query_dim=32",
    "model.query_fc_channels=32",
    "opt.epochs=1",
    "opt.warmup_epochs=1",
    "loader.batch_size=4",
)
QUICK_SYNTHETIC = dict(num_videos=40, text_dim=32, min_len=48, max_len=96, max_seq_len=96)


def notebook_config(
    config: str | os.PathLike | None,
    *,
    synthetic_dir: str | os.PathLike = "../data/synthetic",
    quick: bool = False,
    overrides: list[str] | tuple[str, ...] = (),
    data_root: str | os.PathLike | None = None,
) -> Config:
    """The config a notebook works on: ``config`` (a file or preset) or, when None, the embedded synthetic
    benchmark in ``synthetic_dir`` (generated on first use; a smaller one when ``quick``)."""
    from unimd_lib.data.synthetic import SyntheticSpec

    if config is None:
        spec = SyntheticSpec(**QUICK_SYNTHETIC) if quick else SyntheticSpec()
        folder = Path(synthetic_dir) / ("quick" if quick else "")
        config = ensure_generated(folder, spec)
    items = [*(QUICK_OVERRIDES if quick else ()), *overrides]
    return load_config(config, overrides=parse_overrides(items), data_root=data_root)


def notebook_run(
    *,
    config: str | os.PathLike | None = None,
    data_root: str | os.PathLike | None = None,
    synthetic_dir: str | os.PathLike = "../data/synthetic",
    run_root: str | os.PathLike = "../runs/notebooks",
    run_dir: str | os.PathLike | None = None,
    quick: bool = False,
    progress: bool = False,
) -> Path:
    """The run a notebook works on: ``run_dir`` when given (it must hold a finished run), else the config of the
    notebook parameters (``notebook_config``) trained or reused in ``run_root/<config name>-all`` (``-all-quick``
    for the quick model, so that a quick run never stands in for a full one)."""
    from unimd_lib.train.pipeline import finished, run_scheme

    if run_dir is not None:
        if finished(run_dir) is None:
            raise FileNotFoundError(f"{run_dir}: no finished run there (metrics.json missing)")
        return Path(run_dir)
    cfg = notebook_config(config, synthetic_dir=synthetic_dir, quick=quick, data_root=data_root)
    out = Path(run_root) / f"{cfg.name}-all{'-quick' if quick else ''}"
    run_scheme(cfg, out, task="all", progress=progress)
    return out
