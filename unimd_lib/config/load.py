"""YAML → ``Config``: the workbench's own files (with ``base:`` inheritance from packaged presets) and the
original UniMD YAML files (detected and converted by ``config.original``).

A workbench config has the sections ``data`` (``DataConfig``), ``model`` / ``train_cfg`` / ``test_cfg``
(original keys, ``ModelConfig``), ``opt`` / ``loader`` (original keys), ``run`` and ``eval`` (ours).
``base: NAME`` inherits a packaged preset (``unimd_lib/configs/NAME.yaml``) or a file path relative to the
config; mappings merge recursively, anything else is replaced.

Relative paths (data, ground truth, external scores) resolve against ``data_root`` when given, else against
the folder of the file that names them — the current directory for packaged presets, which name paths like
``data/ego4d/...`` under the workbench folder. The merged mapping (``Config.raw``, a run's snapshot) holds
absolute paths.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from unimd_lib.config.data import DataConfig
from unimd_lib.config.data_root import map_path_values, rebase_to_benchmark_folder
from unimd_lib.config.model import ModelConfig
from unimd_lib.config.sections import build_section, section_to_dict
from unimd_lib.config.train import EvalConfig, LoaderConfig, OptConfig, RunConfig
from unimd_lib.errors import ConfigError

PRESETS = Path(__file__).resolve().parents[1] / "configs"
SECTIONS = ("name", "base", "data", "model", "train_cfg", "test_cfg", "opt", "loader", "run", "eval")
INTERNAL = ("_original_path_keys",)


@dataclass
class Config:
    name: str
    data: DataConfig
    model: ModelConfig
    opt: OptConfig
    loader: LoaderConfig
    run: RunConfig
    eval: EvalConfig
    source: str | None = None  # the file it was read from
    data_base: Path = field(default_factory=Path.cwd)  # where paths given relative after loading resolve
    raw: dict = field(default_factory=dict)  # the merged mapping (what a run snapshots)

    def resolve(self, p: str | os.PathLike | None) -> Path | None:
        """A path from the config (e.g. ``eval.tad_gt``) resolved like the data paths."""
        if p is None:
            return None
        q = Path(os.path.expanduser(str(p)))
        return q if q.is_absolute() else self.data_base / q

    def to_yaml(self) -> str:
        """The merged config as YAML (``base`` already applied), paths as written."""
        return yaml.safe_dump(self.raw, sort_keys=False)


def list_presets() -> list[str]:
    return sorted(p.stem for p in PRESETS.glob("*.yaml"))


def read_yaml(path: str | os.PathLike) -> dict:
    p = Path(path)
    if not p.exists():
        raise ConfigError(p, None, "config file not found")
    try:
        obj = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark else None
        raise ConfigError(p, where, f"malformed YAML: {getattr(err, 'problem', err)}") from None
    if not isinstance(obj, dict):
        raise ConfigError(p, None, "a config must be a YAML mapping")
    return obj


def config_file(name_or_path: str | os.PathLike) -> Path:
    """A path as given, or the packaged preset of that name."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return p
    preset = PRESETS / f"{name_or_path}.yaml"
    if preset.exists():
        return preset
    raise ConfigError(p, None, f"neither a file nor a preset; presets: {', '.join(list_presets())}")


def merge(base: dict, child: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# keys holding paths (relative ones are made absolute against the folder of the file that wrote them)
PATH_KEYS = {
    "data": ("feat_folder", "feat_folder2"),
    "data.tad": ("annotations", "class_embeddings", "feat_folder"),
    "data.mr": ("annotations", "embedding_folder", "feat_folder"),
    "eval": ("tad_gt", "mr_gt", "ext_scores"),
    "test_cfg": ("ext_score_file",),
}


def _absolute(value: Any, base: Path) -> Any:
    if isinstance(value, dict):  # split → path
        return {k: _absolute(v, base) for k, v in value.items()}
    if not isinstance(value, str) or value in ("", "None"):
        return value
    p = Path(os.path.expanduser(value))
    return str(p if p.is_absolute() else base / p)


def absolutize(raw: dict, base: Path) -> dict:
    """``raw`` with the relative paths it names made absolute against ``base``."""
    return map_path_values(copy.deepcopy(raw), PATH_KEYS, lambda value: _absolute(value, base))


def _load_mapping(path: Path, data_root: Path | None, seen: tuple[Path, ...] = ()) -> dict:
    """The merged mapping of ``path`` and its ``base`` chain, paths made absolute file by file."""
    from unimd_lib.config.original import convert_original, is_original

    path = path.resolve()
    if path in seen:
        raise ConfigError(path, "base", "circular base chain")
    raw = read_yaml(path)
    if is_original(raw):
        raw = convert_original(raw, path)
    unknown = sorted(set(raw) - set(SECTIONS) - set(INTERNAL))
    if unknown:
        raise ConfigError(path, unknown[0], f"unknown section; valid sections: {', '.join(SECTIONS)}")
    base = data_root or (Path.cwd() if path.parent == PRESETS else path.parent)
    raw = absolutize(raw, base)
    base_name = raw.pop("base", None)
    if base_name is None:
        return raw
    base_path = config_file(base_name if Path(base_name).is_absolute() else _relative(path, base_name))
    return merge(_load_mapping(base_path, data_root, (*seen, path)), raw)


def _relative(path: Path, name: str) -> str | Path:
    candidate = path.parent / name
    return candidate if candidate.suffix in (".yaml", ".yml") else name


def load_config(
    name_or_path: str | os.PathLike,
    *,
    overrides: dict | None = None,
    data_root: str | os.PathLike | None = None,
    overrides_source: str = "overrides",
) -> Config:
    """Read a config file or preset, apply ``base`` and ``overrides`` (a nested mapping), validate every
    section. Relative paths resolve against ``data_root`` when given (the folder holding ``data/``, or the
    benchmark folder itself: ``config.data_root``), else against the folder of the file that names them (the
    current folder for packaged presets and overrides). Errors name the file and key; an error in a value that
    came from ``overrides`` names ``overrides_source`` (``--set`` on the command line) instead of the file."""
    path = config_file(name_or_path)
    root = None if data_root is None else Path(data_root).resolve()
    raw = _load_mapping(path, root)
    if root is not None:  # data_root may also be the benchmark folder itself (data/ego4d, ...)
        raw = rebase_to_benchmark_folder(raw, root, PATH_KEYS)
    if not overrides:
        return build_config(raw, path, root or Path.cwd())
    valid = [name for name in SECTIONS if name != "base"]  # base is resolved before overrides apply
    unknown = sorted(set(overrides) - set(valid))
    if unknown:
        raise ConfigError(overrides_source, unknown[0], f"unknown section; valid sections: {', '.join(valid)}")
    raw = merge(raw, absolutize(overrides, root or Path.cwd()))
    try:
        return build_config(raw, path, root or Path.cwd())
    except ConfigError as err:
        if err.key is not None and _overridden(err.key, overrides):
            raise ConfigError(overrides_source, err.key, err.message) from None
        raise


def _overridden(key: str, overrides: dict) -> bool:
    """Whether config key ``a.b.c`` (or a section holding an overridden key) was set by ``overrides``."""
    node: object = overrides
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def build_config(raw: dict, path: Path | None, data_base: Path) -> Config:
    from unimd_lib.config.original import original_path_hint

    if "data" not in raw:
        raise ConfigError(path, "data", "no data section: point the config at a benchmark (see README)")
    try:
        data = DataConfig.from_dict(raw["data"], path, data_base)
    except ConfigError as err:
        if "_original_path_keys" in raw and "missing required key" in str(err):
            raise ConfigError(path, err.key, f"{err.message}; {original_path_hint(raw)}") from None
        raise
    raw = {k: v for k, v in raw.items() if k not in INTERNAL}
    model_raw = dict(raw.get("model") or {})
    derived = {"input_dim": data.input_dim, "max_seq_len": data.max_seq_len}
    derived["num_classes"] = data.tad.num_classes if data.tad is not None else 1
    for key, value in derived.items():
        if key in model_raw and model_raw[key] != value:
            raise ConfigError(path, f"model.{key}", f"{model_raw[key]} disagrees with the data section ({value})")
        model_raw[key] = value
    if data.text_dim is not None and model_raw.get("query_dim", 512) != data.text_dim:
        raise ConfigError(path, "model.query_dim", f"text embeddings are {data.text_dim}-d (data.text_dim)")
    model = ModelConfig.from_dict(model_raw, raw.get("train_cfg"), raw.get("test_cfg"), path=path)
    cfg = Config(
        name=str(raw.get("name") or (path.stem if path else "config")),
        data=data,
        model=model,
        opt=build_section(OptConfig, raw.get("opt"), path, "opt"),
        loader=build_section(LoaderConfig, raw.get("loader"), path, "loader"),
        run=build_section(RunConfig, raw.get("run"), path, "run"),
        eval=build_section(EvalConfig, raw.get("eval"), path, "eval"),
        source=None if path is None else str(path),
        data_base=data_base,
        raw=raw,
    )
    _check(cfg, path)
    return cfg


def _check(cfg: Config, path: Path | None) -> None:
    if cfg.loader.batch_size < 1:
        raise ConfigError(path, "loader.batch_size", "must be >= 1")
    if cfg.opt.type != "AdamW":
        raise ConfigError(path, "opt.type", f"only AdamW is implemented, got {cfg.opt.type!r}")
    if cfg.opt.schedule_type != "cosine":
        raise ConfigError(path, "opt.schedule_type", f"only cosine is implemented, got {cfg.opt.schedule_type!r}")
    if cfg.loader.sync_fill not in ("min", "max"):
        raise ConfigError(path, "loader.sync_fill", f"expected min|max, got {cfg.loader.sync_fill!r}")
    if cfg.run.amp not in ("none", "bf16", "fp16"):
        raise ConfigError(path, "run.amp", f"expected none|bf16|fp16, got {cfg.run.amp!r}")
    if cfg.opt.early_stop_epochs is not None and cfg.opt.early_stop_epochs > cfg.opt.total_epochs:
        raise ConfigError(path, "opt.early_stop_epochs", f"exceeds epochs + warmup_epochs ({cfg.opt.total_epochs})")


def config_to_dict(cfg: Config) -> dict[str, Any]:
    """Every section with its effective values (defaults filled in), for display."""
    return {
        "name": cfg.name,
        "data": cfg.data.to_dict(),
        "model": section_to_dict(cfg.model),
        "opt": section_to_dict(cfg.opt),
        "loader": section_to_dict(cfg.loader),
        "run": section_to_dict(cfg.run),
        "eval": section_to_dict(cfg.eval),
    }
