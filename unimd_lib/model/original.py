"""Checkpoint compatibility with the original UniMD code: parameter names, shapes and file layout.

Our modules have readable names; this module renames them to the original ones (spec §3.12) and back, and
reads/writes original checkpoints (``.pth.tar`` / ``.pth``: ``{"state_dict", "state_dict_ema", ...}``, keys
usually prefixed with ``module.`` by ``nn.DataParallel``). Our registration order mirrors the original's, so the
renamed state dict has the original key order too. Ours-only entries (the loss normaliser) are dropped on
export; loading an original checkpoint leaves them at their init values (the original never saved them).
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from unimd_lib.formats.files import atomic_path

OURS_ONLY = ("loss_normalizer.value",)
_LEVEL0 = 3  # our level l is the original's P(l+3)
# channel LayerNorms of the embedding and heads are stored [1, C, 1] in the original (ours: [C])
_CHANNEL_LN = re.compile(r"^(backbone\.embd_norm|cls_head\.norm|reg_head\.norm)\.\d+\.(weight|bias)$")


def _p(match: re.Match, group: int = 2) -> str:
    level = match.group(group)
    return f"p{int(level) + _LEVEL0}"


_RULES: list[tuple[re.Pattern, Any]] = [
    (re.compile(r"^backbone\.embed_convs\.(\d+)\.weight$"), r"backbone.embd.\1.conv.weight"),
    (re.compile(r"^backbone\.embed_norms\.(\d+)\."), r"backbone.embd_norm.\1."),
    (re.compile(r"^backbone\.downsamples\.(\d+)\.norm\."), r"backbone.downsample_layers.\1.0."),
    (re.compile(r"^backbone\.downsamples\.(\d+)\.conv\."), r"backbone.downsample_layers.\1.1.conv."),
    (
        re.compile(r"^neck\.layers\.(\d+)\.top_down\.l(\d)\."),
        lambda m: f"neck.bifpn_list.{m[1]}.conv{int(m[2]) + 3}_up.",
    ),
    (
        re.compile(r"^neck\.layers\.(\d+)\.bottom_up\.l(\d)\."),
        lambda m: f"neck.bifpn_list.{m[1]}.conv{int(m[2]) + 3}_down.",
    ),
    (re.compile(r"^neck\.layers\.(\d+)\.td_weights\.l(\d)$"), lambda m: f"neck.bifpn_list.{m[1]}.{_p(m)}_w1_att"),
    (re.compile(r"^neck\.layers\.(\d+)\.bu_weights\.l(\d)$"), lambda m: f"neck.bifpn_list.{m[1]}.{_p(m)}_w2_att"),
    (
        re.compile(r"^neck\.layers\.(\d+)\.in_convs\.l(\d)(_bu)?\."),
        lambda m: f"neck.bifpn_list.{m[1]}.ft_modules.{_p(m)}_down_channel{'_2' if m[3] else ''}.conv.",
    ),
    (
        re.compile(r"^neck\.layers\.(\d+)\.in_bns\.l(\d)(_bu)?\."),
        lambda m: f"neck.bifpn_list.{m[1]}.ft_bns.{_p(m)}_down_channel{'_2' if m[3] else ''}.",
    ),
    (re.compile(r"^(cls_head|reg_head)\.convs\.(\d+)\.weight$"), r"\1.head.\2.conv.weight"),
    (re.compile(r"^(cls_head|reg_head)\.norms\.(\d+)\."), r"\1.norm.\2."),
    (re.compile(r"^cls_head\.affine\."), "cls_head.cls_fn."),
    (re.compile(r"^reg_head\.scales\.(\d+)\.scale$"), r"reg_head.scale.\1.scale"),
    (re.compile(r"^reg_head\.kernels\.linears\.(\d+)\."), r"reg_head.query_fcs.\1.1."),
    (re.compile(r"^reg_head\.kernels\.norms\.(\d+)\."), r"reg_head.query_norm.\1."),
]
# inside any ConvNeXt block (backbone stem/stages, BiFPN nodes)
_BLOCK_RULES: list[tuple[re.Pattern, str]] = [
    (re.compile(r"\.layer_scale$"), ".gamma"),
    (re.compile(r"\.dwconv\.(weight|bias)$"), r".dwconv.conv.\1"),
    (re.compile(r"\.fc1\."), ".pwconv1."),
    (re.compile(r"\.fc2\."), ".pwconv2."),
]


def original_name(name: str) -> str:
    """The original state-dict key of our parameter/buffer ``name``."""
    for pattern, repl in _RULES:
        name, n = pattern.subn(repl, name)
        if n:
            break
    for pattern, repl in _BLOCK_RULES:
        name = pattern.sub(repl, name)
    return name


def name_map(model: nn.Module) -> OrderedDict[str, str]:
    """Our state-dict key → original key, in state-dict order (ours-only entries left out)."""
    return OrderedDict((k, original_name(k)) for k in model.state_dict() if k not in OURS_ONLY)


def original_shape(orig_name: str, shape: torch.Size) -> tuple[int, ...]:
    return (1, shape[0], 1) if _CHANNEL_LN.match(orig_name) else tuple(shape)


def to_original(model: nn.Module, state: Mapping[str, torch.Tensor] | None = None) -> OrderedDict[str, torch.Tensor]:
    """``state`` (default: the model's) renamed and reshaped to the original layout, original key order."""
    state = model.state_dict() if state is None else state
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for ours, orig in name_map(model).items():
        t = state[ours]
        out[orig] = t.reshape(original_shape(orig, t.shape))
    return out


def strip_module_prefix(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Remove the ``module.`` prefix that ``nn.DataParallel`` checkpoints carry (if every key has it)."""
    if state and all(k.startswith("module.") for k in state):
        return {k[len("module.") :]: v for k, v in state.items()}
    return dict(state)


def from_original(model: nn.Module, orig_state: Mapping[str, torch.Tensor]) -> OrderedDict[str, torch.Tensor]:
    """An original state dict (with or without ``module.``) → our names and shapes. Keys must match exactly
    (ours-only entries are taken from the model); a mismatch raises ``KeyError``/``ValueError`` listing keys."""
    orig_state = strip_module_prefix(orig_state)
    mapping = name_map(model)
    expected = set(mapping.values())
    missing = sorted(expected - set(orig_state))
    unexpected = sorted(set(orig_state) - expected)
    if missing or unexpected:
        raise KeyError(
            f"original state dict does not match this model: missing {missing[:5]}, unexpected {unexpected[:5]}"
        )
    ours = model.state_dict()
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for k, t in ours.items():
        if k in OURS_ONLY:
            out[k] = t.clone()
            continue
        src = orig_state[mapping[k]]
        if src.numel() != t.numel():
            raise ValueError(f"{mapping[k]}: shape {tuple(src.shape)} does not fit {k} {tuple(t.shape)}")
        out[k] = src.reshape(t.shape).to(t.dtype)
    return out


def load_original_checkpoint(path: str | os.PathLike, *, ema: bool = True) -> dict[str, torch.Tensor]:
    """Read an original checkpoint (or a bare state dict) with ``weights_only=True``; returns the original-named
    state dict: ``state_dict_ema`` when ``ema`` and present (what ``eval.py`` evaluates), else ``state_dict``."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - re-raised with the file name
        raise ValueError(f"{path}: cannot read as a weights-only torch checkpoint: {err}") from err
    if isinstance(ckpt, Mapping) and ("state_dict" in ckpt or "state_dict_ema" in ckpt):
        key = "state_dict_ema" if ema and "state_dict_ema" in ckpt else "state_dict"
        if key not in ckpt:
            raise KeyError(f"{path}: no {key!r} entry (has {sorted(ckpt)})")
        ckpt = ckpt[key]
    if not isinstance(ckpt, Mapping):
        raise ValueError(f"{path}: expected a state dict, got {type(ckpt).__name__}")
    return strip_module_prefix(ckpt)


def load_original_into(model: nn.Module, path: str | os.PathLike, *, ema: bool = True) -> None:
    """Load an original checkpoint's weights into ``model`` (strict)."""
    model.load_state_dict(from_original(model, load_original_checkpoint(path, ema=ema)))


def save_original_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    *,
    state: Mapping[str, torch.Tensor] | None = None,
    ema_state: Mapping[str, torch.Tensor] | None = None,
    module_prefix: bool = True,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Write ``{"state_dict", "state_dict_ema", **extra}`` in the original layout (atomically).

    ``state``/``ema_state`` default to the model's state dict (the EMA entry is written only when given or
    when ``ema_state`` is None and then equals the model's, as the original's first checkpoint would).
    ``module_prefix`` adds ``module.`` like the original's DataParallel checkpoints.
    """
    prefix = "module." if module_prefix else ""

    def conv(s):
        return OrderedDict((prefix + k, v.detach().cpu().clone()) for k, v in to_original(model, s).items())

    ckpt: dict[str, Any] = dict(extra or {})
    ckpt["state_dict"] = conv(state)
    ckpt["state_dict_ema"] = conv(state if ema_state is None else ema_state)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        torch.save(ckpt, fh)
