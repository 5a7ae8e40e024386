"""What ``data_root`` may be: the folder that holds ``data/`` (the presets' layout, ``data/ego4d/mq/...``) or
the benchmark folder itself (the one holding ``mq/`` and ``nlq/``, whatever its name) — what a user guesses.

``rebase_to_benchmark_folder`` is applied by the loader when a ``data_root`` is given; ``layout_hint`` says, in
an error, which folder was expected.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def annotation_paths(data: Mapping) -> list[Path]:
    """The annotation files a (raw or parsed) ``data`` section names, TAD first, in split order."""
    out = []
    for task in ("tad", "mr"):
        section = data.get(task) if isinstance(data, Mapping) else getattr(data, task, None)
        if section is None:
            continue
        files = section.get("annotations") if isinstance(section, Mapping) else section.annotations
        if isinstance(files, (str, Path)):
            files = {"*": files}
        for value in (files or {}).values():
            if isinstance(value, (str, Path)) and str(value):
                out.append(Path(value))
    return list(dict.fromkeys(out))


def _under(paths: list[Path], root: Path) -> list[Path]:
    return [p.relative_to(root) for p in paths if p.is_relative_to(root)]


def benchmark_prefix(data: Mapping, root: Path) -> Path | None:
    """The leading folders (e.g. ``data/ego4d``) to drop when ``root`` is the benchmark folder itself: None when
    an annotation file exists where the config says, or when no shorter path finds one either."""
    rel = _under(annotation_paths(data), root)
    if not rel or any((root / r).exists() for r in rel):
        return None
    for k in range(1, max(len(r.parts) for r in rel)):
        for r in rel:
            if len(r.parts) > k and root.joinpath(*r.parts[k:]).exists():
                return Path(*r.parts[:k])
    return None


def rebase_to_benchmark_folder(raw: dict, root: Path, path_keys: Mapping[str, tuple[str, ...]]) -> dict:
    """``raw`` (paths already absolute) with every path under ``root/<prefix>`` moved to ``root`` when ``root``
    is the benchmark folder itself (see ``benchmark_prefix``); unchanged otherwise."""
    prefix = benchmark_prefix(raw.get("data") or {}, root)
    if prefix is None:
        return raw
    old = root / prefix

    def move(value):
        if isinstance(value, dict):
            return {k: move(v) for k, v in value.items()}
        if isinstance(value, str) and value and Path(value).is_relative_to(old):
            return str(root / Path(value).relative_to(old))
        return value

    return map_path_values(raw, path_keys, move)


def map_path_values(raw: dict, path_keys: Mapping[str, tuple[str, ...]], fn) -> dict:
    """``raw`` with ``fn`` applied, in place, to the value of every path key (``section.sub: (key, ...)``) it has."""
    for section, keys in path_keys.items():
        node = raw
        for part in section.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            for key in keys:
                if key in node:
                    node[key] = fn(node[key])
    return raw


def layout_hint(data, root: Path) -> str:
    """Which folder ``data_root`` should be, for an error where no annotation file was found."""
    rel = _under(annotation_paths(data), root)
    if not rel:
        return "annotation paths in the config are absolute: check them"
    r = rel[0]
    bench = Path(*r.parts[:2]) if len(r.parts) > 2 else None  # presets: data/<benchmark>/...
    inside = Path(*r.parts[len(bench.parts) :]) if bench else r
    where = f"'{root}' should hold {r.as_posix()}"
    if bench is None:
        return f"{where} (data_root = the folder holding it)"
    return (
        f"{where}: data_root is the folder that holds {bench.parts[0]}/ "
        f"(or the benchmark folder {bench.as_posix()}/ itself, holding {inside.as_posix()})"
    )
