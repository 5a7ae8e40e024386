"""Original UniMD YAML files → the workbench layout.

The original keeps ``model``, ``opt``, ``loader``, ``train_cfg`` and ``test_cfg`` (same keys here, same
defaults), a generic ``dataset`` section and a benchmark section chosen by the file-name prefix
(``ego4d_…``, ``charades_…``, ``anet_…``; spec §2) whose path keys point into the original repository's
layout. Scalars (dimensions, strides, fps, cropping, splits, seed) are converted; file paths are kept only
where their meaning is certain (``feat_folder``) — the rest must come from a ``data:`` section layered on
top (``base: <original.yaml>`` + ``data: {...}``), and the error says so, listing the original's path keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from unimd_lib.errors import ConfigError

ORIGINAL_MARKERS = ("dataset_name", "model_name", "dataset", "init_rand_seed", "devices")
ADAPTER_BY_PREFIX = {"ego4d": "ego4d", "charades": "charades", "anet": "anet"}
MODEL_NAME = "LocPointTransformerSyntheses"
# dataset keys converted one to one (ActionFormer / UniMD names → DataConfig names)
SCALAR_KEYS = {
    "input_dim": "input_dim",
    "feat_stride": "feat_stride",
    "num_frames": "num_frames",
    "default_fps": "default_fps",
    "downsample_rate": "downsample_rate",
    "max_seq_len": "max_seq_len",
    "trunc_thresh": "trunc_thresh",
    "crop_ratio": "crop_ratio",
    "force_upsampling": "force_upsampling",
    "feat_folder": "feat_folder",
}
IGNORED_TOP = ("devices", "output_folder", "dataset_name", "model_name")


def is_original(raw: dict) -> bool:
    return "data" not in raw and any(k in raw for k in ORIGINAL_MARKERS)


def convert_original(raw: dict, path: Path) -> dict[str, Any]:
    """Workbench mapping of an original config; ``data`` holds what could be converted."""
    if raw.get("model_name", MODEL_NAME) != MODEL_NAME:
        raise ConfigError(path, "model_name", f"only {MODEL_NAME} (UniMD) is implemented, got {raw['model_name']!r}")
    prefix = path.name.split("_")[0]  # the original picks the benchmark section by file-name prefix
    adapter = ADAPTER_BY_PREFIX.get(prefix)
    if adapter is None:
        raise ConfigError(path, None, f"file name must start with one of {sorted(ADAPTER_BY_PREFIX)}_ as in UniMD")
    dataset = dict(raw.get("dataset") or {})
    dataset.update(raw.get(prefix) or {})
    data: dict[str, Any] = {"adapter": adapter}
    for key, target in SCALAR_KEYS.items():
        if key in dataset and dataset[key] not in ("", None, "None"):
            data[target] = dataset[key]
    for key in ("train_split", "val_split"):
        if raw.get(key):
            split = raw[key]
            data[key] = split[0] if isinstance(split, list) else split
    out: dict[str, Any] = {"name": path.stem, "data": data}
    for section in ("model", "opt", "loader", "train_cfg", "test_cfg"):
        if section in raw:
            out[section] = dict(raw[section] or {})
    if "init_rand_seed" in raw:
        out["run"] = {"seed": int(raw["init_rand_seed"])}
    path_keys = sorted(k for k, v in dataset.items() if isinstance(v, str) and k not in SCALAR_KEYS and "/" in v)
    out["_original_path_keys"] = path_keys
    return out


def original_path_hint(raw: dict) -> str:
    keys = raw.get("_original_path_keys") or []
    listed = f" (the original's path keys: {', '.join(keys)})" if keys else ""
    return (
        "an original UniMD config names files in the original repository's layout"
        f"{listed}; layer a data section on it: a YAML with `base: <this file>` and `data: {{tad: ..., mr: ...}}` "
        "as in the workbench presets (README, 'Bring your own config')"
    )
