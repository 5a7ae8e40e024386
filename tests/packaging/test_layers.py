"""The package's import contract, read from the source (ast): no import cycle between modules, and no package
imports one of a higher layer. A new package gets a row in ``LAYERS``; packages of one layer may not import
each other (they are siblings)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "unimd_lib"

# lowest first; a module may import its own package and any package of a LOWER layer
LAYERS: list[set[str]] = [
    {"errors"},
    {"backend", "config", "configs"},
    {"formats"},
    {"text", "video"},  # text encoders / video decoding + image encoders: read formats only
    {"data"},  # adapts the benchmarks (the synthetic one and embed-text embed with text)
    {"post"},  # arrays only (decoding, NMS, rankings, fusion): the model's inference calls it
    {"model"},
    {"eval"},
    {"train", "views"},  # siblings: views read run folders through formats.run_layout, never through train
    {"parity"},  # re-runs the reference cases with the model and train's optimiser
    {"tools"},
    {"cli"},
]
LAYER_OF = {pkg: i for i, layer in enumerate(LAYERS) for pkg in layer}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the nodes under ``if TYPE_CHECKING:`` (annotations only: never executed)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skip


def imported_modules(path: Path, *, runtime_only: bool = False) -> set[str]:
    """``unimd_lib.*`` modules imported anywhere in the file (also inside functions: a late import is still a
    dependency; ``runtime_only`` leaves out ``if TYPE_CHECKING:`` blocks). ``from unimd_lib.x import y`` counts
    as ``unimd_lib.x.y`` too, for when ``y`` is a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rsplit(".", 1)[0]
    skip = _type_checking_nodes(tree) if runtime_only else set()
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("unimd_lib"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            if not base.startswith("unimd_lib"):
                continue
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return found


def import_graph(*, runtime_only: bool = False) -> dict[str, set[str]]:
    """module → the package modules it imports. An import of one's own parent package is left out: Python
    initialises the parents before a module anyway (``from unimd_lib.post import nms_cpu`` inside the package)."""
    files = {module_name(p): p for p in ROOT.rglob("*.py")}
    return {
        mod: {
            m
            for m in imported_modules(p, runtime_only=runtime_only)
            if m in files and m != mod and not mod.startswith(m + ".")
        }
        for mod, p in files.items()
    }


def top_package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_package_has_a_layer():
    packages = {top_package(m) for m in import_graph()} - {""}
    assert packages <= set(LAYER_OF), f"add {sorted(packages - set(LAYER_OF))} to LAYERS"


def test_no_upward_or_sideways_import():
    bad = []
    for mod, deps in sorted(import_graph().items()):
        src = top_package(mod)
        for dep in sorted(deps):
            dst = top_package(dep)
            if src and dst and src != dst and LAYER_OF.get(dst, -1) >= LAYER_OF.get(src, -1):
                bad.append(f"{mod} imports {dep}")
    assert not bad, "imports against the layer order:\n" + "\n".join(bad)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path ``[a, b, ..., a]``, or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in sorted(graph):
        if state.get(start):
            continue
        path, stack = [start], [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


def test_no_import_cycle():
    # a type-only import (``if TYPE_CHECKING:``) of a module that imports this one is not a cycle
    cycle = find_cycle(import_graph(runtime_only=True))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_checks_catch_what_they_should():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
    assert LAYER_OF["eval"] > LAYER_OF["model"] > LAYER_OF["post"] > LAYER_OF["data"] > LAYER_OF["formats"]
    assert LAYER_OF["train"] == LAYER_OF["views"] and LAYER_OF["config"] > LAYER_OF["errors"]


@pytest.mark.parametrize(
    ("source", "package", "expected"),
    [
        ("from unimd_lib.eval.ranking import numpy_desc_order\n", "post", {"unimd_lib.eval.ranking"}),
        ("def f():\n    from unimd_lib.train import evaluate\n", "views", {"unimd_lib.train.evaluate"}),
        ("from . import nms\nfrom .decode import x\n", "post", {"unimd_lib.post.nms", "unimd_lib.post.decode"}),
        ("if TYPE_CHECKING:\n    from unimd_lib.model.unimd import M\n", "post", {"unimd_lib.model.unimd"}),
    ],
)
def test_imports_are_read_also_late_and_relative(tmp_path, monkeypatch, source, package, expected):
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path / "unimd_lib")
    f = tmp_path / "unimd_lib" / package / "mod.py"
    f.parent.mkdir(parents=True)
    f.write_text(source)
    assert expected <= imported_modules(f)
    assert not any(m.startswith("unimd_lib.model") for m in imported_modules(f, runtime_only=True))
