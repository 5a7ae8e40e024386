"""``unimd notebooks run``: execute the numbered notebooks headlessly (papermill) into a run folder."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

from unimd_lib.errors import UsageError
from unimd_lib.tools.notebook_runner import NotebookResult, run_notebooks


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("notebooks", help="execute the numbered notebooks headlessly")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    r = sub.add_parser(
        "run",
        help="run notebooks/NN_*.ipynb with papermill",
        description="Execute the numbered notebooks in order with papermill (with an execution timeout) and "
        "write the executed copies to --out. Parameters (-p NAME VALUE, YAML values) go to every notebook that "
        "declares them.",
    )
    r.add_argument("--src", default="notebooks")
    r.add_argument("--out", default="runs/notebooks")
    r.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    r.add_argument("--timeout", type=int, default=900, help="seconds per cell (papermill execution timeout)")
    r.add_argument("--only", nargs="+", help="name prefixes, e.g. 01 05")
    r.set_defaults(func=run)


def _yaml_value(name: str, text: str):
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        problem = getattr(err, "problem", err)
        raise UsageError(None, f"-p {name}", f"value {text!r} is not valid YAML ({problem})") from None


def _started(path: Path) -> None:
    print(f"{path.name}: running ...", flush=True)


def _finished(res: NotebookResult) -> None:
    status = "ok" if res.ok else f"FAILED ({res.error})"
    print(f"{res.name}: {status} in {res.seconds:.1f} s -> {res.output}", flush=True)


def run(args: argparse.Namespace) -> int:
    params = {name: _yaml_value(name, value) for name, value in args.parameter}
    results = run_notebooks(args.src, args.out, params, timeout=args.timeout, only=args.only,
                            on_start=_started, on_result=_finished)  # fmt: skip
    print(json.dumps({"ok": all(r.ok for r in results), "seconds": round(sum(r.seconds for r in results), 1)}))
    return 0 if all(r.ok for r in results) else 1
