"""The ``data:`` section of a config: one paired TAD + MR benchmark (its files, grid and cropping).

``DataConfig.from_dict(d, path, base_dir)`` validates a parsed YAML mapping: unknown or missing keys and
wrong types raise ``ConfigError`` naming the config file and the dotted key; relative paths are resolved
against ``base_dir`` (the directory of the config file). One example per real benchmark: ``tests/data/test_config.py``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from unimd_lib.config.sections import check_value
from unimd_lib.errors import ConfigError

ADAPTERS = ("ego4d", "charades", "anet")
TAD_FORMATS = ("database", "charades_csv")
MR_FORMATS = ("database", "captions")
TEXT_RULES = ("exact", "ego4d")
ZERO_LENGTH = ("keep", "drop", "error")
ANY_SPLIT = "*"


@dataclass
class TadFiles:
    """TAD side. ``annotations``: split → file (key ``*`` = every split). ``subsets``: split → value of the
    json's ``subset`` field to keep (absent = adapter default, None = whole file). ``train_fraction`` < 1
    trains on a fixed, nested subset of the training videos' annotations of this task (low-data studies)."""

    annotations: dict[str, Path]
    num_classes: int
    class_embeddings: Path
    format: str | None = None
    subsets: dict[str, str | None] = field(default_factory=dict)
    embeddings_transposed: bool = False
    average_embeddings: bool = False
    feat_folder: Path | None = None
    train_fraction: float = 1.0


@dataclass
class MrFiles:
    """MR side. ``embedding_pattern`` may use ``{video_id}`` and ``{split}`` (ANet: ``{video_id}_{split}.npz``).
    ``train_fraction`` as for TAD."""

    annotations: dict[str, Path]
    embedding_folder: Path
    embedding_pattern: str = "{video_id}.npz"
    format: str | None = None
    subsets: dict[str, str | None] = field(default_factory=dict)
    text_rule: str | None = None
    normalise_embeddings: bool = False
    feat_folder: Path | None = None
    train_fraction: float = 1.0


@dataclass
class DataConfig:
    """One benchmark. ``default_fps`` None = each video's json fps; a number overrides every video (ANet 30).
    ``feat_stride`` is the file's stride; the effective stride is ``feat_stride * downsample_rate``.
    ``clip_to_duration``: clip segments to [0, duration] (False = keep them as the original does; reported
    either way). ``zero_length``: ``keep`` | ``drop`` | ``error`` for zero-length segments (None = the
    benchmark's own: Ego4D keep, ANet drop, Charades error). ``require_features: false`` = annotations only:
    datasets skip the start-up check of feature / embedding files and read class embeddings only if present
    (to explore a benchmark before its features are downloaded; a record still needs its files)."""

    adapter: str
    feat_folder: Path
    input_dim: int
    feat_stride: int
    num_frames: int
    max_seq_len: int
    tad: TadFiles | None = None
    mr: MrFiles | None = None
    feat_pattern: str = "{video_id}.npy"
    feat_folder2: Path | None = None
    feat_pattern2: str = "{video_id}.npz"
    feat_dim2: int | None = None
    text_dim: int | None = None
    default_fps: float | None = None
    downsample_rate: int = 1
    trunc_thresh: float = 0.5
    crop_ratio: tuple[float, float] | None = (0.9, 1.0)
    train_split: str = "training"
    val_split: str = "validation"
    test_split: str | None = None
    force_upsampling: bool = False
    clip_to_duration: bool = True
    zero_length: str | None = None
    require_features: bool = True

    @property
    def feat_dim1(self) -> int:
        return self.input_dim - (self.feat_dim2 or 0)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], path: str | os.PathLike | None = None, base_dir=None) -> DataConfig:
        base = Path(base_dir) if base_dir is not None else (Path(path).parent if path else Path.cwd())
        parser = _Parser(path, base)
        cfg = parser.build(cls, d, "data", _DATA_FIELDS)
        if cfg.tad is None and cfg.mr is None:
            raise ConfigError(path, "data", "needs a 'tad' and/or an 'mr' section")
        _apply_adapter_defaults(cfg)
        if cfg.tad is not None and cfg.tad.format == "charades_csv" and cfg.default_fps is None:
            raise ConfigError(path, "data.default_fps", "the Charades CSV has no fps: set it explicitly (24)")
        if cfg.feat_folder2 is not None:
            if cfg.feat_dim2 is None:
                raise ConfigError(path, "data.feat_dim2", "required with feat_folder2 (width of the second stream)")
            if cfg.feat_dim1 <= 0:
                raise ConfigError(path, "data.input_dim", f"must exceed feat_dim2={cfg.feat_dim2}")
        elif cfg.feat_dim2 is not None:
            raise ConfigError(path, "data.feat_dim2", "set without feat_folder2")
        if cfg.crop_ratio is not None and not 0 < cfg.crop_ratio[0] <= cfg.crop_ratio[1] <= 1:
            raise ConfigError(path, "data.crop_ratio", f"need 0 < lo <= hi <= 1, got {list(cfg.crop_ratio)}")
        return cfg

    def to_dict(self, relative_to: str | os.PathLike | None = None) -> dict[str, Any]:
        """Plain mapping (YAML-ready); paths relative to ``relative_to`` when given."""
        return _to_plain(self, None if relative_to is None else Path(relative_to))


def _apply_adapter_defaults(cfg: DataConfig) -> None:
    """Unset formats / text rule take the benchmark's own (spec §6.2-6.4)."""
    if cfg.tad is not None and cfg.tad.format is None:
        cfg.tad.format = "database"
    if cfg.mr is not None:
        if cfg.mr.format is None:
            cfg.mr.format = "captions" if cfg.adapter == "anet" else "database"
        if cfg.mr.text_rule is None:
            cfg.mr.text_rule = "ego4d" if cfg.adapter == "ego4d" else "exact"


# ---- parsing -------------------------------------------------------------------------------------------------

Conv = Callable[["_Parser", Any, str], Any]
REQUIRED = object()


class _Parser:
    def __init__(self, path, base: Path):
        self.path, self.base = path, base

    def fail(self, key: str, msg: str):
        raise ConfigError(self.path, key, msg)

    def build(self, cls, d, prefix: str, spec: dict[str, tuple[Conv, Any]]):
        if not isinstance(d, Mapping):
            self.fail(prefix, f"expected a mapping, got {type(d).__name__}")
        unknown = sorted(set(d) - set(spec))
        if unknown:
            self.fail(f"{prefix}.{unknown[0]}", f"unknown key (allowed: {', '.join(sorted(spec))})")
        kwargs = {}
        for name, (conv, default) in spec.items():
            key = f"{prefix}.{name}"
            if name in d:
                kwargs[name] = conv(self, d[name], key)
            elif default is REQUIRED:
                self.fail(key, "missing required key")
        return cls(**kwargs)


def _int(p: _Parser, v, key):
    return check_value(v, int, p.path, key)


def _pos_int(p: _Parser, v, key):
    if _int(p, v, key) < 1:
        p.fail(key, f"must be >= 1, got {v}")
    return v


def _opt(conv: Conv) -> Conv:
    # YAML quirks (spec §2): `default_fps: ""` and `clip_feats_dir: None` (the string) both mean "unset"
    return lambda p, v, key: None if v is None or v == "" or v == "None" else conv(p, v, key)


def _float(p: _Parser, v, key):
    return check_value(v, float, p.path, key)


def _bool(p: _Parser, v, key):
    return check_value(v, bool, p.path, key)


def _fraction(p: _Parser, v, key):
    v = _float(p, v, key)
    if not 0 < v <= 1:
        p.fail(key, f"must be in (0, 1], got {v}")
    return v


def _str(p: _Parser, v, key):
    if isinstance(v, list) and len(v) == 1 and isinstance(v[0], str):
        return v[0]  # the original configs write splits as one-element lists
    if not isinstance(v, str) or not v:
        p.fail(key, f"expected a non-empty string, got {v!r}")
    return v


def _choice(*allowed: str) -> Conv:
    def conv(p: _Parser, v, key):
        if v not in allowed:
            p.fail(key, f"expected one of {list(allowed)}, got {v!r}")
        return v

    return conv


def _pattern(p: _Parser, v, key):
    v = _str(p, v, key)
    try:
        v.format(video_id="x", split="y")
    except (KeyError, IndexError, ValueError) as err:
        p.fail(key, f"file-name pattern may only use {{video_id}} and {{split}}: {err}")
    return v


def _path(p: _Parser, v, key):
    if not isinstance(v, str) or not v:
        p.fail(key, f"expected a path string, got {v!r}")
    q = Path(os.path.expanduser(v))
    return q if q.is_absolute() else p.base / q


def _split_paths(p: _Parser, v, key):
    if isinstance(v, str):
        return {ANY_SPLIT: _path(p, v, key)}
    if not isinstance(v, Mapping) or not v:
        p.fail(key, "expected a path or a mapping split → path")
    return {str(s): _path(p, f, f"{key}.{s}") for s, f in v.items()}


def _split_map(p: _Parser, v, key):
    if not isinstance(v, Mapping):
        p.fail(key, "expected a mapping split → subset name (or null for the whole file)")
    return {str(s): (None if n is None else _str(p, n, f"{key}.{s}")) for s, n in v.items()}


def _crop_ratio(p: _Parser, v, key):
    if v is None:
        return None
    if not isinstance(v, (list, tuple)) or len(v) != 2:
        p.fail(key, f"expected [lo, hi], got {v!r}")
    return (_float(p, v[0], key), _float(p, v[1], key))


def _section(cls, spec) -> Conv:
    return lambda p, v, key: None if v is None else p.build(cls, v, key, spec)


_TAD_FIELDS: dict[str, tuple[Conv, Any]] = {
    "annotations": (_split_paths, REQUIRED),
    "num_classes": (_pos_int, REQUIRED),
    "class_embeddings": (_path, REQUIRED),
    "format": (_choice(*TAD_FORMATS), None),
    "subsets": (_split_map, None),
    "embeddings_transposed": (_bool, None),
    "average_embeddings": (_bool, None),
    "feat_folder": (_opt(_path), None),
    "train_fraction": (_fraction, None),
}
_MR_FIELDS: dict[str, tuple[Conv, Any]] = {
    "annotations": (_split_paths, REQUIRED),
    "embedding_folder": (_path, REQUIRED),
    "embedding_pattern": (_pattern, None),
    "format": (_choice(*MR_FORMATS), None),
    "subsets": (_split_map, None),
    "text_rule": (_choice(*TEXT_RULES), None),
    "normalise_embeddings": (_bool, None),
    "feat_folder": (_opt(_path), None),
    "train_fraction": (_fraction, None),
}
_DATA_FIELDS: dict[str, tuple[Conv, Any]] = {
    "adapter": (_choice(*ADAPTERS), REQUIRED),
    "feat_folder": (_path, REQUIRED),
    "input_dim": (_pos_int, REQUIRED),
    "feat_stride": (_pos_int, REQUIRED),
    "num_frames": (_pos_int, REQUIRED),
    "max_seq_len": (_pos_int, REQUIRED),
    "tad": (_section(TadFiles, _TAD_FIELDS), None),
    "mr": (_section(MrFiles, _MR_FIELDS), None),
    "feat_pattern": (_pattern, None),
    "feat_folder2": (_opt(_path), None),
    "feat_pattern2": (_pattern, None),
    "feat_dim2": (_opt(_pos_int), None),
    "text_dim": (_opt(_pos_int), None),
    "default_fps": (_opt(_float), None),
    "downsample_rate": (_pos_int, None),
    "trunc_thresh": (_float, None),
    "crop_ratio": (_crop_ratio, None),
    "train_split": (_str, None),
    "val_split": (_str, None),
    "test_split": (_opt(_str), None),
    "force_upsampling": (_bool, None),
    "clip_to_duration": (_bool, None),
    "zero_length": (_opt(_choice(*ZERO_LENGTH)), None),
    "require_features": (_bool, None),
}


def _to_plain(obj, rel: Path | None):
    if isinstance(obj, Path):
        if rel is not None:
            try:
                return Path(os.path.relpath(obj, rel)).as_posix()
            except ValueError:  # different drive (Windows)
                return str(obj)
        return str(obj)
    if isinstance(obj, tuple):
        return [_to_plain(x, rel) for x in obj]
    if isinstance(obj, dict):
        return {k: _to_plain(v, rel) for k, v in obj.items()}
    if hasattr(obj, "__dataclass_fields__"):
        return {f.name: _to_plain(getattr(obj, f.name), rel) for f in fields(obj)}
    return obj
