"""Scoring tables for the benchmarks: every metric of a scored case on numpy and on CuPy, timed, with equality.

One row per metric (``EVAL_COLUMNS``): ``numpy`` / ``cupy`` values, median seconds of the whole scoring of the case
on each backend (repeated on each of its rows), ``equal`` (identical values; NA without a CuPy run), and, for the
reference cases, the ``expected`` value and whether it ``matches``.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.device_timing import default_backends, timed
from unimd_lib.config.load import Config

EVAL_COLUMNS = ("case", "protocol", "metric", "numpy", "cupy", "numpy_s", "cupy_s", "equal", "expected", "matches")


def evaluation_table(
    cfg: Config,
    predictions: dict[str, pd.DataFrame],
    *,
    repeats: int = 3,
    backends: Sequence[str] | None = None,
    case: str = "run",
) -> pd.DataFrame:
    """Every protocol of ``cfg`` on ``predictions`` with each backend: one row per metric (``EVAL_COLUMNS``)."""
    from unimd_lib.train.evaluate import evaluate_predictions, protocol_of

    backends = tuple(backends or default_backends())
    rows = []
    for task, df in predictions.items():
        protocol = protocol_of(cfg, task)
        if protocol is None:
            continue
        values, seconds = {}, {}
        for backend in backends:
            values[backend], seconds[backend] = timed(
                lambda backend=backend, task=task, df=df: evaluate_predictions(cfg, {task: df}, backend=backend),
                repeats,
                warmup=1 if backend == "cupy" else 0,
            )
        rows += metric_rows(f"{case}/{task}", protocol, values, seconds)
    return eval_frame(rows)


def eval_frame(rows: list[dict]) -> pd.DataFrame:
    """Evaluation rows as a table with ``EVAL_COLUMNS``; ``equal`` / ``matches`` are nullable booleans (NA: not
    compared, e.g. no CuPy run or no expected value)."""
    table = pd.DataFrame(rows, columns=list(EVAL_COLUMNS))
    for col in ("equal", "matches"):
        table[col] = table[col].astype("boolean")
    return table


def timing_by_case(table: pd.DataFrame) -> pd.DataFrame:
    """One row per scored case of an evaluation table: protocol, numpy and CuPy seconds, speed-up, metrics
    compared and whether all are identical (NA without a CuPy run)."""
    g = table.groupby("case", sort=False)
    out = g.agg(protocol=("protocol", "first"), numpy_s=("numpy_s", "first"), cupy_s=("cupy_s", "first"),
                metrics=("metric", "size"))  # fmt: skip
    out["speedup"] = out["numpy_s"] / out["cupy_s"]
    out["all_equal"] = g["equal"].agg(lambda s: bool(s.all()) if s.notna().all() else pd.NA).astype("boolean")
    return out.reset_index()


def metric_rows(case: str, protocol: str, values: dict[str, dict], seconds: dict[str, float]) -> list[dict]:
    """Rows of one scored case: ``values[backend]`` maps metric → value (keys ``task/metric`` are shortened)."""
    rows = []
    for key, value in values["numpy"].items():
        cupy = values["cupy"][key] if "cupy" in values else np.nan
        equal = pd.NA if "cupy" not in values else bool(value == cupy or (np.isnan(value) and np.isnan(cupy)))
        rows.append(dict(
            case=case, protocol=protocol, metric=key.split("/", 1)[-1], numpy=float(value), cupy=float(cupy),
            numpy_s=seconds["numpy"], cupy_s=seconds.get("cupy", np.nan), equal=equal, expected=np.nan, matches=pd.NA,
        ))  # fmt: skip
    return rows


def quiet(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` with its stderr diagnostics (prediction counts etc.) swallowed."""
    with contextlib.redirect_stderr(io.StringIO()):
        return fn()


def assert_all_equal(*tables: pd.DataFrame) -> None:
    """Raise ``AssertionError`` naming every row whose ``equal`` (or ``matches``) column is False."""
    bad = []
    for t in tables:
        for col in ("equal", "matches"):
            if col in t:
                mask = t[col].astype("boolean").fillna(True)
                bad += [str(r) for r in t.loc[~mask].to_dict("records")]
    if bad:
        raise AssertionError(f"{len(bad)} row(s) differ:\n" + "\n".join(bad[:20]))
