"""Every GPU check of the workbench in one command, on any CUDA machine (see benchmarks/GPU.md).

    python benchmarks/gpu_check.py --out runs/gpu_check [--shared DIR]    # on the GPU machine (< ~5 min)
    python3 benchmarks/gpu_check.py --out /tmp/gc --cpu-dry-run            # anywhere: the same logic on the CPU

Steps, in this order (each with its own time limit, all within --budget seconds):

  env          versions, devices, and whether the notebook packages are importable
  pytest       pytest -m gpu over tests/post, tests/eval, tests/tools
  synthetic    unimd make-synthetic (the embedded benchmark)
  train_bf16   unimd train --task all, run.amp=bf16, opt.epochs=1 on cuda; the loss must be finite and go down
  amp_fp16     a few fp16 steps with the grad scaler through the training loop (benchmarks.amp_check)
  notebook     notebooks/04 under papermill on the bf16 run (CPU vs GPU NMS and evaluation, reference cases)
  bench_nms    benchmarks/bench_nms.py --quick --backend cupy (5 loop-baseline videos; the whole synthetic val set)
  bench_eval   benchmarks/bench_eval.py --backend cupy (no loop baselines)

--out receives gpu_check.log (every step's output), summary.json and the executed notebook (three files).
--cpu-dry-run hides any GPU (CUDA_VISIBLE_DEVICES=''), runs the CPU counterpart of each step
at small sizes and does not require the GPU-only outcomes; it checks this script's own logic.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing
NOTEBOOK = "04_gpu_nms_and_evaluation.ipynb"
TINY = [f"model.{k}=32" for k in ("embd_dim", "fpn_dim", "head_dim", "query_dim", "query_fc_channels")]
QUICK_SYNTHETIC = [
    "--num-videos",
    "40",
    "--text-dim",
    "32",
    "--min-len",
    "48",
    "--max-len",
    "96",
    "--max-seq-len",
    "96",
]


@dataclass
class Step:
    name: str
    limit: float  # seconds
    needs: str | None = None  # "cupy" or "cuda" (torch) on a GPU run
    status: str = "pending"  # ok | failed | timeout | skipped
    seconds: float = 0.0
    rc: int | None = None
    detail: str = ""
    facts: dict = field(default_factory=dict)


# ------------------------------------------------------------------------------------------------ helpers
def sets(*items: str) -> list[str]:
    return [a for item in items for a in ("--set", item)]


def pytest_counts(text: str) -> dict[str, int]:
    """Counts from pytest's final line, e.g. ``3 passed, 2 skipped, 40 deselected in 9.1s``."""
    return {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|skipped|deselected|errors?|xfailed|xpassed)", text)}


def lines_with(text: str, *needles: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if any(n in ln for n in needles)]


def last_json(text: str) -> dict | None:
    for ln in reversed(text.splitlines()):
        ln = ln.strip()
        if ln.startswith("{") and ln.endswith("}"):
            try:
                return json.loads(ln)
            except json.JSONDecodeError:
                continue
    return None


def run(cmd: list[str], *, env: dict, timeout: float, log) -> tuple[int | None, str, float]:
    """Run ``cmd`` in its own process group; on timeout end that group (only what this script started).
    Returns (rc or None on timeout, combined output, seconds)."""
    log.write(f"$ {' '.join(cmd)}\n")
    log.flush()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)  # fmt: skip
    try:
        out, _ = proc.communicate(timeout=max(timeout, 1))
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
        rc = None
    log.write(out or "")
    log.write(f"[exit {rc} after {time.perf_counter() - start:.1f} s]\n")
    log.flush()
    return rc, out or "", time.perf_counter() - start


NOTEBOOK_STACK = ("papermill", "nbclient", "ipykernel", "ipywidgets", "plotly")


def install_notebook_stack(wheels: Path, site: Path, log) -> str:
    """When the notebook packages are missing and ``wheels`` holds wheels (benchmarks/gpu_wheels.sh), install them
    into ``site`` (``pip install --no-index --no-deps --target``) and put it on ``sys.path``."""
    import importlib.util

    missing = [m for m in NOTEBOOK_STACK if importlib.util.find_spec(m) is None]
    if not missing:
        return "notebook packages present"
    found = sorted(wheels.glob("*.whl")) if wheels.is_dir() else []
    if not found:
        return f"missing {', '.join(missing)} and no wheels in {wheels} (see benchmarks/GPU.md)"
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile", "--no-cache-dir",
           "--upgrade", "--target", str(site), *map(str, found)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    log.write(f"$ {' '.join(cmd[:12])} ... ({len(found)} wheels)\n{proc.stdout}{proc.stderr}")
    if proc.returncode != 0:
        return f"installing {len(found)} wheels from {wheels} failed (rc {proc.returncode}; see gpu_check.log)"
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    return f"installed {len(found)} wheels from {wheels} into {site}"


def environment(dry: bool) -> dict:
    """Versions and devices (torch, CuPy, nvidia-smi) and the notebook packages' availability."""
    import importlib

    facts: dict = {"python": platform.python_version(), "executable": sys.executable, "mode": "cpu-dry-run" if dry
                   else "gpu"}  # fmt: skip
    try:
        import torch

        facts["torch"] = torch.__version__
        facts["torch_cuda"] = bool(torch.cuda.is_available())
        if facts["torch_cuda"]:
            facts["torch_device"] = torch.cuda.get_device_name(0)
            facts["bf16_supported"] = bool(torch.cuda.is_bf16_supported())
    except Exception as err:  # noqa: BLE001 - reported, not raised
        facts["torch"] = f"unusable: {err}"
        facts["torch_cuda"] = False
    from benchmarks.postprocess_bench import gpu_status

    status = gpu_status()
    facts["cupy_gpu"], facts["cupy_status"] = status.available, status.message
    for name in ("numpy", "pandas", "cupy", "papermill", "nbclient", "ipykernel", "ipywidgets", "plotly", "pytest"):
        try:
            facts[name] = getattr(importlib.import_module(name), "__version__", "?")
        except Exception:  # noqa: BLE001
            facts[name] = "MISSING"
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)  # fmt: skip
        facts["nvidia_smi"] = smi.stdout.strip() or smi.stderr.strip()
    except (OSError, subprocess.TimeoutExpired) as err:
        facts["nvidia_smi"] = f"not available ({err.__class__.__name__})"
    return facts


def find_shared(arg: str | None) -> Path | None:
    for p in ([Path(arg)] if arg else []) + [REPO.parent / "shared", REPO / ".gpu_shared"]:
        if (p / "refcases").is_dir():
            return p.resolve()
    return None


def link_shared(shared: Path | None) -> str:
    """The tests read ``<repo>/../shared``: point it at ``shared`` when it is elsewhere (e.g. ``.gpu_shared``)."""
    target = REPO.parent / "shared"
    if shared is None:
        return "no shared data: tests that need it skip, bench_eval and the reference cases are skipped"
    if target.exists():
        return f"tests read {target}" + ("" if target.resolve() == shared else f" (not {shared})")
    try:
        target.symlink_to(shared, target_is_directory=True)
        return f"linked {target} -> {shared}"
    except OSError as err:
        return f"could not link {target} -> {shared} ({err}); tests that need shared data skip"


# ------------------------------------------------------------------------------------------------ the steps
def plan(dry: bool, out: Path, work: Path, shared: Path | None) -> list[tuple[Step, list[str] | None]]:
    py = sys.executable
    dev = "cpu" if dry else "cuda"
    syn, run_dir = work / "synthetic", work / "run_bf16"
    extra = TINY + ["opt.warmup_epochs=1", "run.num_threads=1"] if dry else []
    steps: list[tuple[Step, list[str] | None]] = [
        (Step("pytest", 150, "cupy"), [py, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider", "-rs",
                                        "tests/post", "tests/eval", "tests/tools"]),
        (Step("synthetic", 30), [py, "-m", "unimd_lib.cli", "make-synthetic", "--out", str(syn)]
         + (QUICK_SYNTHETIC if dry else [])),
        (Step("train_bf16", 150, "cuda"), [py, "-m", "unimd_lib.cli", "train", "--config", str(syn / "config.yaml"),
         "--task", "all", "--out", str(run_dir), "--no-progress", *sets("run.amp=bf16", "opt.epochs=1",
         f"run.device={dev}", "run.log_every=1", *extra)]),
        (Step("amp_fp16", 60, "cuda"), [py, "-m", "benchmarks.amp_check", "--config", str(syn / "config.yaml"),
         "--amp", "fp16", "--steps", "3", "--device", dev, *sets(*extra)]),
        (Step("notebook", 180, "cupy"), None),  # built after train_bf16 (its run, or a quick one of its own)
        (Step("bench_nms", 90, "cupy"), [py, "benchmarks/bench_nms.py", "--quick"]
         + ([] if dry else ["--backend", "cupy"])),
        (Step("bench_eval", 90, "cupy"), None if shared is None else [py, "benchmarks/bench_eval.py", "--shared",
         str(shared)] + (["--backend", "numpy", "--baseline", "skip", "--repeat", "1", "--only", "charades"] if dry
         else ["--backend", "cupy", "--repeat", "2"])),
    ]  # fmt: skip
    return steps


def notebook_command(dry: bool, out: Path, work: Path, shared: Path | None, limit: float) -> list[str]:
    run_dir = work / "run_bf16"
    params = {
        "refcases_dir": str(shared / "refcases") if shared else str(work / "no-refcases"),
        "interactive": "false",
        "repeats": "1" if dry else "3",
        "run_root": str(work / "notebook_runs"),
        "synthetic_dir": str(work / "notebook_synthetic"),
    }
    if (run_dir / "metrics.json").exists():
        params["run_dir"] = str(run_dir)
    else:  # the bf16 training did not finish: the notebook trains a quick run itself
        params["quick"] = "true"
    cmd = [sys.executable, "-m", "unimd_lib.cli", "notebooks", "run", "--src", "notebooks", "--out", str(out),
           "--only", NOTEBOOK[:2], "--timeout", str(int(max(limit - 10, 30)))]  # fmt: skip
    for k, v in params.items():
        cmd += ["-p", k, v]
    return cmd


def judge(step: Step, rc: int | None, text: str, dry: bool, work: Path, out: Path) -> None:
    """Set ``step.status`` / ``detail`` / ``facts`` from the command's outcome."""
    step.rc = rc
    step.status = "timeout" if rc is None else ("ok" if rc == 0 else "failed")
    name = step.name
    if name == "pytest":
        counts = pytest_counts(text.strip().splitlines()[-1] if text.strip() else "")
        step.facts = counts
        step.detail = ", ".join(f"{v} {k}" for k, v in counts.items())
        if step.status == "ok" and not dry and counts.get("passed", 0) == 0:
            step.status, step.detail = "failed", step.detail + " (no GPU test ran)"
    elif name == "train_bf16" and rc == 0:
        from benchmarks.amp_check import loss_trend

        trend = loss_trend(work / "run_bf16" / "log.csv")
        step.facts = {"loss_trend": trend, "result": last_json(text)}
        step.detail = (f"{trend['iterations']} iterations, mean loss {trend['first']:.3f} (first quarter) -> "
                       f"{trend['last']:.3f} (last quarter), finite {trend['finite']}")  # fmt: skip
        if not trend["ok"]:
            if dry:  # a handful of tiny CPU steps need not learn; the GPU run must
                step.detail += " (not decreasing: not required in a dry run)"
            else:
                step.status = "failed"
    elif name == "amp_fp16":
        res = last_json(text) or {}
        step.facts = res
        step.detail = (f"losses {[round(x, 3) for x in res.get('losses', [])]}, scaler "
                       f"{'on, scale ' + str(res.get('scale')) if res.get('scaler_enabled') else 'off'}, "
                       f"weights changed {res.get('params_changed')}")  # fmt: skip
        if step.status == "ok" and not dry and not res.get("scaler_enabled"):
            step.status, step.detail = "failed", step.detail + " (the grad scaler should be on for fp16 on CUDA)"
    elif name == "notebook":
        nb = out / NOTEBOOK
        text_nb = nb.read_text() if nb.exists() else ""
        gpu_on = "GPU path on:" in text_nb
        step.facts = {"executed_notebook": str(nb), "gpu_path": gpu_on}
        step.detail = "GPU path on" if gpu_on else "CPU only"
        if step.status == "ok" and not dry and not gpu_on:
            step.status, step.detail = "failed", "the notebook ran without the GPU path"
    elif name == "bench_nms":
        step.detail = " | ".join(lines_with(text, "equality:", "speed-up over CPU", "GPU cupy batch"))[:400]
    elif name == "bench_eval":
        same = lines_with(text, "identical numbers")
        step.detail = " | ".join(lines_with(text, "vectorised", "identical numbers"))[:400]
        if any(ln.endswith("False") for ln in same):
            step.status = "failed"
    if step.status != "ok" and not step.detail:
        step.detail = " | ".join(text.strip().splitlines()[-3:])[:400]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, type=Path, help="folder for gpu_check.log, summary.json, the notebook")
    ap.add_argument("--shared", help="the shared data folder (refcases/, annotations/); default ../shared or "
                    ".gpu_shared")  # fmt: skip
    ap.add_argument("--work", type=Path, help="scratch folder (synthetic data, runs); default a temporary folder")
    ap.add_argument("--wheels", type=Path, default=REPO / ".whl", help="wheels from gpu_wheels.sh, installed when "
                    "the notebook packages are missing (default .whl)")  # fmt: skip
    ap.add_argument("--budget", type=float, default=290.0, help="seconds for all steps together")
    ap.add_argument("--only", help="comma-separated step names to run (others are skipped)")
    ap.add_argument("--cpu-dry-run", action="store_true", help="no GPU: CPU counterparts at small sizes")
    args = ap.parse_args(argv)
    dry = args.cpu_dry_run
    if dry:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # before torch / CuPy look for devices, here and in the children
    start = time.perf_counter()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    work = (args.work or Path(tempfile.mkdtemp(prefix="gpu_check_"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    shared = find_shared(args.shared)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    env.update(PYTHONUNBUFFERED="1", MPLBACKEND="Agg", IPYTHONDIR=str(work / "ipython"))
    for d in ("CONFIG", "DATA", "RUNTIME"):
        env[f"JUPYTER_{d}_DIR"] = str(work / "jupyter" / d.lower())
    only = set(args.only.split(",")) if args.only else None

    log = (out / "gpu_check.log").open("w")
    stack = install_notebook_stack(args.wheels, work / "site", log)
    if str(work / "site") in sys.path:  # the children (and the notebook kernel) see the installed wheels too
        env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], str(work / "site")])
    facts = environment(dry)
    facts["notebook_stack"] = stack
    facts["shared"] = link_shared(shared)
    log.write(json.dumps(facts, indent=1) + "\n")
    print(f"gpu_check ({facts['mode']}): python {facts['python']}, torch {facts.get('torch')} (cuda "
          f"{facts['torch_cuda']}), {facts['cupy_status']}; nvidia-smi: {facts['nvidia_smi']}")  # fmt: skip
    print(f"{stack}; shared data: {facts['shared']}; work folder {work}", flush=True)
    have = {"cupy": facts["cupy_gpu"], "cuda": facts["torch_cuda"]}
    steps: list[Step] = []
    for step, cmd in plan(dry, out, work, shared):
        steps.append(step)
        left = args.budget - (time.perf_counter() - start)
        if only is not None and step.name not in only:
            step.status, step.detail = "skipped", "not in --only"
        elif step.name == "bench_eval" and cmd is None:
            step.status, step.detail = "skipped", "no shared data (refcases/, annotations/)"
        elif not dry and step.needs and not have[step.needs]:
            step.status = "failed"
            step.detail = (
                f"needs {'a CuPy CUDA device' if step.needs == 'cupy' else 'torch CUDA'}: {facts['cupy_status']}"
            )
        elif left < 15:
            step.status, step.detail = "skipped", f"time budget spent ({args.budget:.0f} s)"
        else:
            if step.name == "notebook":
                cmd = notebook_command(dry, out, work, shared, min(step.limit, left))
            log.write(f"\n===== {step.name} =====\n")
            rc, text, step.seconds = run(cmd, env=env, timeout=min(step.limit, left), log=log)
            judge(step, rc, text, dry, work, out)
        print(f"  {step.name:11s} {step.status:8s} {step.seconds:6.1f} s  {step.detail}", flush=True)
    ok = all(s.status in ("ok",) or (s.status == "skipped" and (only is not None or s.name == "bench_eval"))
             for s in steps)  # fmt: skip
    summary = {"ok": ok, "seconds": round(time.perf_counter() - start, 1), "environment": facts,
               "steps": [asdict(s) for s in steps]}  # fmt: skip
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    log.close()
    print(f"gpu_check: {'ALL OK' if ok else 'FAILED'} in {summary['seconds']} s; logs and summary.json in {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
