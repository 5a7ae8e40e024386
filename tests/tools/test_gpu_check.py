"""benchmarks/gpu_check.py: its parsing helpers, and the whole script in --cpu-dry-run mode."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "gpu_check.py"


def load_script():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gpu_check", mod)  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def test_helpers():
    gc = load_script()
    assert gc.pytest_counts("== 3 passed, 2 skipped, 40 deselected in 9.1s ==") == {
        "passed": 3, "skipped": 2, "deselected": 40
    }  # fmt: skip
    assert gc.last_json('noise\n{"a": 1}\n{"b": 2}\ntrailing') == {"b": 2}
    assert gc.last_json("no json") is None
    assert gc.sets("a=1", "b=2") == ["--set", "a=1", "--set", "b=2"]


def test_gpu_plan_names_the_gpu_commands(tmp_path):
    gc = load_script()
    planned = gc.plan(False, tmp_path, tmp_path, tmp_path)
    order = [s.name for s, _ in planned]
    steps = {s.name: (s, cmd) for s, cmd in planned}
    # what must be checked on a GPU, whatever else the plan grows: the GPU tests, a bf16 training, fp16 steps,
    # notebook 04 and both benchmarks on CuPy; the notebook and the fp16 steps need the synthetic data first
    assert {"pytest", "synthetic", "train_bf16", "amp_fp16", "notebook", "bench_nms", "bench_eval"} <= set(order)
    assert order.index("synthetic") < min(order.index("train_bf16"), order.index("amp_fp16"), order.index("notebook"))
    assert order.index("train_bf16") < order.index("notebook")  # the notebook reads the bf16 run when it finished
    assert all(step.needs in ("cupy", "cuda") for name, (step, _) in steps.items() if name != "synthetic")
    assert all(step.limit > 0 for step, _ in steps.values())
    pytest_cmd = steps["pytest"][1]
    assert {"-m", "gpu"} <= set(pytest_cmd) and {"tests/post", "tests/eval"} <= set(pytest_cmd)
    train = " ".join(steps["train_bf16"][1])
    for s in ("--task all", "run.amp=bf16", "opt.epochs=1", "run.device=cuda"):
        assert s in train
    assert "--backend cupy" in " ".join(steps["bench_nms"][1]) and "--backend cupy" in " ".join(steps["bench_eval"][1])
    assert "--baseline" not in steps["bench_eval"][1]  # cupy mode skips the loop baselines by default
    assert steps["amp_fp16"][1][steps["amp_fp16"][1].index("--amp") + 1] == "fp16"
    no_data = {s.name: cmd for s, cmd in gc.plan(False, tmp_path, tmp_path, None)}
    assert no_data["bench_eval"] is None and no_data["bench_nms"]  # only the evaluation benchmark needs that data
    nb = gc.notebook_command(False, tmp_path, tmp_path, tmp_path, 100)
    assert nb[nb.index("--only") + 1] == "04" and "quick" in nb  # no finished bf16 run in tmp_path: quick fallback


@pytest.mark.slow
def test_cpu_dry_run(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), "--work", str(tmp_path / "work"), "--cpu-dry-run"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ALL OK" in proc.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ok"] and summary["environment"]["mode"] == "cpu-dry-run"
    assert (out / "gpu_check.log").stat().st_size > 0
    steps = {s["name"]: s for s in summary["steps"]}
    # every step ran and passed; only the evaluation benchmark may skip, and only for want of reference data
    # (the benchmarks' annotation files are not redistributable), saying so
    for name, step in steps.items():
        if step["status"] == "skipped":
            assert name == "bench_eval" and "no shared data" in step["detail"], step
        else:
            assert step["status"] == "ok", step
    assert steps["pytest"]["facts"].get("failed", 0) == 0 and steps["pytest"]["facts"]["skipped"] > 0
    assert steps["train_bf16"]["facts"]["loss_trend"]["finite"]
    assert steps["notebook"]["detail"] == "CPU only" and (out / "04_gpu_nms_and_evaluation.ipynb").exists()
