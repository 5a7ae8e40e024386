"""The headless notebook runner: each notebook gets only the parameters it declares, a parameter nobody
declares is an error, and a run prints neither papermill's "unknown parameter" nor the kernel's TCP warning."""

from __future__ import annotations

import ast
import json
import logging
import re
from pathlib import Path

import nbformat
import pytest

from unimd_lib.config.overrides import parse_overrides
from unimd_lib.tools.notebook_runner import declared_parameters, notebook_paths, run_notebooks

REPO = Path(__file__).resolve().parents[2]


def tiny_notebook(path: Path, name: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    params = nbformat.v4.new_code_cell(f"{name} = 0")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(f"print({name!r}, {name})")]
    nbformat.write(nb, path)


def printed(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def test_each_notebook_gets_its_own_parameters_quietly(tmp_path, capfd, caplog):
    src = tmp_path / "nb"
    src.mkdir()
    tiny_notebook(src / "01_a.ipynb", "alpha")
    tiny_notebook(src / "02_b.ipynb", "beta")
    assert declared_parameters(src / "01_a.ipynb") == {"alpha"}
    events = []
    with caplog.at_level(logging.INFO):
        results = run_notebooks(src, tmp_path / "out", {"alpha": 3, "beta": 4}, timeout=120,
                                on_start=lambda p: events.append(("start", p.name)),
                                on_result=lambda r: events.append(("done", r.name)))  # fmt: skip
    assert [r.ok for r in results] == [True, True], [r.error for r in results]
    names = ["01_a.ipynb", "02_b.ipynb"]  # reported as each notebook starts and ends, not at the end of the run
    assert events == [(e, n) for n in names for e in ("start", "done")]
    assert printed(tmp_path / "out" / "01_a.ipynb").split() == ["alpha", "3"]
    assert printed(tmp_path / "out" / "02_b.ipynb").split() == ["beta", "4"]
    out = capfd.readouterr()
    noise = out.out + out.err + caplog.text
    assert "Passed unknown parameter" not in noise and "without encryption" not in noise


def test_a_parameter_no_notebook_declares_is_an_error(tmp_path):
    tiny_notebook(tmp_path / "01_a.ipynb", "alpha")
    with pytest.raises(ValueError, match=r"-p gamma: declared by none of: 01_a\.ipynb"):
        run_notebooks(tmp_path, tmp_path / "out", {"alpha": 1, "gamma": 2}, timeout=60)


NOTEBOOKS = notebook_paths(REPO / "notebooks")


def parameters_source(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return "".join(next(c for c in cells if "parameters" in c["metadata"].get("tags", []))["source"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_papermill_sees_every_parameter_a_notebook_assigns(path):
    """papermill's parser skips a line it cannot read (e.g. an ``=`` inside a trailing comment), and the runner
    then rejects ``-p`` for that name: every name the parameters cell assigns must be declared."""
    assigned = {
        target.id
        for node in ast.parse(parameters_source(path)).body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert assigned and declared_parameters(path) == assigned


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_override_examples_in_the_notebooks_parse(path):
    """An ``overrides`` example (``e.g. [...]`` in a parameters-cell comment) is valid ``section.key=value``."""
    examples = re.findall(r"overrides.*e\.g\. (\[.*\])", parameters_source(path))
    for example in examples:
        assert parse_overrides(ast.literal_eval(example)), example


def test_the_makefile_passes_notebooks_only_parameters_they_declare():
    """``make demo`` / ``make notebooks`` run notebooks with ``-p`` values: each must be declared by one of the
    notebooks that line selects (else the runner refuses the whole line, as ``run_notebooks`` does)."""
    text = (REPO / "Makefile").read_text().replace("\\\n", " ")
    common = re.search(r"^NB :=(.*)$", text, re.M).group(1)
    lines = [line for line in text.splitlines() if line.strip().startswith("$(NB)")]
    assert lines
    for line in lines:
        only = re.search(r"--only ((?:\d\d ?)+)", line).group(1).split()
        declared = set().union(*(declared_parameters(p) for p in NOTEBOOKS if p.name[:2] in only))
        passed = set(re.findall(r"-p (\w+)", common + line))
        assert passed <= declared, (line, passed - declared)
