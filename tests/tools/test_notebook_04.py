"""Notebook 04 runs headlessly under papermill on the quick run (with an execution timeout, nbclient#312)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from unimd_lib.tools.notebook_runner import run_notebook

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "04_gpu_nms_and_evaluation.ipynb"


def outputs_text(path: Path) -> str:
    nb = json.loads(path.read_text())
    parts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            parts.append("".join(out.get("text", "")))
            parts.append("".join(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def test_committed_notebook_is_clean():
    nb = json.loads(NOTEBOOK.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c["execution_count"] is None and c["outputs"] == [] for c in code)
    assert code[0]["metadata"].get("tags") == ["parameters"]
    params = "".join(code[0]["source"])
    for name in ("config", "data_root", "synthetic_dir", "run_root", "run_dir", "refcases_dir", "repeats", "quick",
                 "interactive"):  # fmt: skip
        assert f"\n{name} = " in "\n" + params, name


@pytest.mark.parametrize("refcases", [False, True], ids=["no-refcases", "refcases"])
def test_notebook_runs_quick(quick_root, tmp_path, monkeypatch, refcases):
    shared = REPO.parent / "shared" / "refcases"
    if refcases and not shared.is_dir():
        pytest.skip(f"reference data not available: {shared}")
    # the kernel imports this checkout's unimd_lib (a venv may hold an editable install of another one)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    params = dict(
        quick=True, interactive=not refcases, repeats=1, synthetic_dir=str(quick_root / "synthetic"),
        run_root=str(quick_root / "runs"), refcases_dir=str(shared if refcases else tmp_path / "absent"),
    )  # fmt: skip
    res = run_notebook(NOTEBOOK, tmp_path, params, timeout=120)
    assert res.ok, res.error
    text = outputs_text(res.output)
    assert "CPU only" in text or "GPU path on" in text
    assert "every compared path gave equal results" in text
    assert ("reference cases not found" in text) != refcases
    assert res.output.stat().st_size < 2_000_000
