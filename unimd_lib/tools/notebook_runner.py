"""Headless execution of the numbered notebooks with papermill (always with an execution timeout: a cell that
prints a large output into an ipywidgets ``Output`` can otherwise stall forever, nbclient#312)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unimd_lib.errors import NotFoundError


@dataclass
class NotebookResult:
    name: str
    output: Path
    seconds: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def notebook_paths(folder: str | os.PathLike, only: list[str] | None = None) -> list[Path]:
    """``NN_*.ipynb`` in order; ``only`` keeps those whose name starts with one of the given prefixes."""
    paths = sorted(p for p in Path(folder).glob("[0-9][0-9]_*.ipynb"))
    if only:
        paths = [p for p in paths if any(p.name.startswith(o) for o in only)]
    return paths


def run_notebook(src: Path, out_dir: Path, parameters: dict[str, Any], timeout: int) -> NotebookResult:
    import papermill as pm

    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / src.name
    start = time.perf_counter()
    try:
        pm.execute_notebook(
            str(src),
            str(out),
            parameters=parameters,
            kernel_name="python3",
            cwd=str(src.parent),
            execution_timeout=timeout,
            progress_bar=False,
        )
    except pm.PapermillExecutionError as err:
        return NotebookResult(src.name, out, time.perf_counter() - start, f"{err.ename}: {err.evalue}")
    return NotebookResult(src.name, out, time.perf_counter() - start)


def run_notebooks(
    src: str | os.PathLike = "notebooks",
    out: str | os.PathLike = "runs/notebooks",
    parameters: dict[str, Any] | None = None,
    *,
    timeout: int = 900,
    only: list[str] | None = None,
) -> list[NotebookResult]:
    """Execute every numbered notebook of ``src`` in order into ``out`` (executed copies with outputs)."""
    paths = notebook_paths(src, only)
    if not paths:
        raise NotFoundError(src, None, "no numbered notebooks (NN_*.ipynb)" + (f" matching {only}" if only else ""))
    out_dir = Path(out).resolve()
    return [run_notebook(p.resolve(), out_dir, dict(parameters or {}), timeout) for p in paths]
