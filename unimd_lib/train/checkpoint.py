"""Atomic checkpoint files: a reader sees the previous checkpoint or the complete new one, never a torn file
(a run killed with SIGKILL mid-save resumes from the previous one)."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import torch

from unimd_lib.errors import DataError, NotFoundError
from unimd_lib.formats.files import atomic_path


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        torch.save(state, fh)
        fh.flush()
        os.fsync(fh.fileno())


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a workbench checkpoint with ``weights_only=True`` (tensors and plain Python containers only)."""
    p = Path(path)
    if not p.exists():
        raise NotFoundError(p, None, "checkpoint not found")
    try:
        return torch.load(p, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, EOFError) as err:  # torch's own text would suggest unsafe loading
        raise DataError(p, None, f"not a torch checkpoint, or truncated ({type(err).__name__})") from None
    except RuntimeError as err:  # e.g. a damaged zip archive
        raise DataError(p, None, f"unreadable checkpoint: {str(err).splitlines()[0]}") from None
