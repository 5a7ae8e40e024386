"""Notebook 01 on each paired benchmark's real annotation files alone (no features, no text embeddings), as a
user who has not downloaded the features yet runs it: every figure is drawn or says what is missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.annotation_roots import PRESETS, annotations_only_root
from unimd_lib.tools.notebook_runner import run_notebook

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_data_exploration.ipynb"
# data_root as a user would guess it: the folder holding data/ (charades), or the benchmark folder itself
ROOT = {"ego4d": "data/ego4d", "charades": ".", "anet": "data/anet"}
SPLIT = {"ego4d": "training", "charades": "Test", "anet": "validationV2"}  # the notebook's default split


def _text(outputs: list[dict]) -> str:
    parts = []
    for o in outputs:
        parts.append("".join(o.get("text", "")))
        for key in ("text/plain", "application/vnd.plotly.v1+json"):
            value = o.get("data", {}).get(key)
            parts.append(value if isinstance(value, str) else json.dumps(value) if value else "".join(value or ""))
    return "\n".join(parts).replace("<br>", " ")  # figures wrap long reasons


@pytest.mark.parametrize("benchmark", sorted(PRESETS))
def test_notebook_01_runs_on_annotations_alone(benchmark, tmp_path):
    root = annotations_only_root(tmp_path / "root", benchmark)
    params = {"config": PRESETS[benchmark], "data_root": str(root / ROOT[benchmark]), "interactive": False}
    result = run_notebook(NOTEBOOK, tmp_path / "out", params, timeout=300)
    assert result.ok, result.error
    cells = [
        c
        for c in json.loads(result.output.read_text())["cells"]
        if c["cell_type"] == "code" and not {"parameters", "injected-parameters"} & set(c["metadata"].get("tags", []))
    ]
    assert not [o for c in cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert all(c.get("outputs") for c in cells), "every cell after the parameters shows something"
    text = _text([o for c in cells for o in c["outputs"]])
    assert f"detailed figures on {SPLIT[benchmark]!r}" in text
    assert "not shown" in _text(cells[-2]["outputs"]) and "feature files" in _text(cells[-2]["outputs"])
    assert "not shown" in _text(cells[-1]["outputs"]) and "not found" in _text(cells[-1]["outputs"])
