"""What a config's ``eval`` section says about scoring a task: its protocol and its ground-truth file. Used by
training (``train.evaluate``) and by the views (``views.tables``), which must not import ``train``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from unimd_lib.config.load import Config


def protocol_of(cfg: Config, task: str) -> str | None:
    return cfg.eval.tad_protocol if task == "tad" else cfg.eval.mr_protocol


def ground_truth(cfg: Config, task: str) -> Path | str | None:
    """The GT file of ``task``: ``eval.<task>_gt`` or, by default, the task's validation annotation file."""
    explicit = cfg.eval.tad_gt if task == "tad" else cfg.eval.mr_gt
    if explicit is not None:
        return cfg.resolve(explicit)
    files = getattr(cfg.data, task)
    if files is None:
        return None
    split = cfg.data.val_split
    return files.annotations.get(split) or files.annotations.get("*")
