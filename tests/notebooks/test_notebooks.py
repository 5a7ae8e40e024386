"""The numbered notebooks: committed without outputs, parameterised, and executed headlessly by papermill
with small parameters (any error fails the test)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from unimd_lib.tools.notebook_runner import notebook_paths, run_notebook

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = notebook_paths(REPO / "notebooks")
COMMON = {"quick": True, "interactive": False}
EXTRA = {"03": {"seeds": [0], "mr_train_fraction": 0.5}}


def test_the_numbered_notebooks():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06", "07"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_without_outputs_and_with_parameters(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), "strip outputs"
    assert "parameters" in code[0]["metadata"].get("tags", []), "first code cell must be tagged 'parameters'"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_executes_headlessly(path, tmp_path):
    params = {
        **COMMON,
        "synthetic_dir": str(tmp_path / "data"),
        "run_root": str(tmp_path / "runs"),
        **EXTRA.get(path.name[:2], {}),
    }
    result = run_notebook(path, tmp_path / "out", params, timeout=300)
    assert result.ok, result.error
    executed = json.loads(result.output.read_text())
    assert executed["metadata"]["papermill"]["exception"] in (False, None)
    outputs = [o for c in executed["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert outputs, "the notebook displayed nothing"
