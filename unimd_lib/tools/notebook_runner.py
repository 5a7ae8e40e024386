"""Headless execution of the numbered notebooks with papermill (always with an execution timeout: a cell that
prints a large output into an ipywidgets ``Output`` can otherwise stall forever, nbclient#312).

Each notebook receives only the parameters its ``parameters`` cell declares (a run over several notebooks passes
each its own subset; a name no notebook declares is an error). The kernel talks over local IPC sockets where the
platform has them, not over unencrypted TCP on 127.0.0.1 (which the kernel warns about on every start)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unimd_lib.errors import NotFoundError, UsageError


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


def declared_parameters(path: str | os.PathLike) -> set[str]:
    """Names the notebook's ``parameters`` cell assigns."""
    import papermill as pm

    return set(pm.inspect_notebook(str(path)))


def _kernel_config():
    from traitlets.config import Config

    return Config({"KernelManager": {"transport": "ipc"}}) if os.name == "posix" else Config()


def run_notebook(src: Path, out_dir: Path, parameters: dict[str, Any], timeout: int) -> NotebookResult:
    """Execute ``src`` into ``out_dir`` with the entries of ``parameters`` that it declares."""
    import papermill as pm

    declared = declared_parameters(src)
    parameters = {k: v for k, v in parameters.items() if k in declared}
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
            config=_kernel_config(),
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
    on_start: Callable[[Path], None] | None = None,
    on_result: Callable[[NotebookResult], None] | None = None,
) -> list[NotebookResult]:
    """Execute every numbered notebook of ``src`` in order into ``out`` (executed copies with outputs). Each
    gets the ``parameters`` it declares; a parameter that none of them declares raises ValueError."""
    paths = notebook_paths(src, only)
    if not paths:
        raise NotFoundError(src, None, "no numbered notebooks (NN_*.ipynb)" + (f" matching {only}" if only else ""))
    unknown = set(parameters or {}) - set().union(*(declared_parameters(p) for p in paths))
    if unknown:
        names = ", ".join(p.name for p in paths)
        hint = (
            " (a `name = value` line of the cell tagged `parameters` declares one; papermill skips a line whose"
            " comment holds `=`)"
        )
        raise UsageError(None, "-p " + ", ".join(sorted(unknown)), f"declared by none of: {names}{hint}")
    out_dir = Path(out).resolve()
    results = []
    for p in paths:  # on_start / on_result: report as each notebook starts and ends (a run takes minutes)
        if on_start is not None:
            on_start(p)
        results.append(run_notebook(p.resolve(), out_dir, dict(parameters or {}), timeout))
        if on_result is not None:
            on_result(results[-1])
    return results
