"""The CLIP image tower (``transformers``' ``CLIPVisionModelWithProjection``; torchvision is never imported)
and the checkpoints it reads from a local path:

* a Hugging Face folder (``config.json`` + weights) of a CLIP model or of its vision tower;
* a state-dict file (``.safetensors``, ``.bin``, ``.pt``/``.pth``) with Hugging Face keys (a whole
  ``CLIPModel``'s ``vision_model.*`` + ``visual_projection.weight``, or the tower alone); the architecture is
  read from the tensor shapes (heads = width / 64, as in every released CLIP);
* an OpenAI / open_clip checkpoint (keys ``visual.*``, e.g. OpenAI's ``ViT-B-32.pt``, a TorchScript archive),
  mapped to those keys; the activation is QuickGELU as in OpenAI's models (open_clip's LAION-trained towers use
  GELU: load them through a Hugging Face conversion instead);
* a file written by ``save_clip_vision`` (state dict + config).
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import torch

from unimd_lib.errors import DataError

VISION_PREFIXES = ("vision_model.", "visual_projection.")


def _transformers():
    try:
        import transformers
    except ImportError as err:  # pragma: no cover - the `video` extra is missing
        raise ImportError("the CLIP image encoder needs transformers: pip install 'unimd-workbench[video]'") from err
    return transformers


def _read_state_dict(path: Path) -> dict:
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return {"state_dict": load_file(str(path))}
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except RuntimeError as err:
            if "TorchScript" not in str(err) and "jit" not in str(err).lower():
                raise
            obj = torch.jit.load(str(path), map_location="cpu").state_dict()  # OpenAI's released .pt files
    except Exception as err:  # any unreadable checkpoint: name the file
        raise DataError(path, None, f"cannot read the checkpoint: {err}") from None
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        return obj
    if not isinstance(obj, dict):
        raise DataError(path, None, f"expected a state dict, found {type(obj).__name__}")
    return {"state_dict": obj}


def from_openai(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """OpenAI / open_clip image-tower keys (``visual.*``) → Hugging Face ``CLIPVisionModelWithProjection`` keys."""
    v = {k.removeprefix("visual."): t for k, t in sd.items() if k.startswith("visual.")}
    if "proj" not in v or "conv1.weight" not in v:
        raise DataError(None, "visual.proj", "not a ViT image tower (ResNet CLIP towers are not supported)")
    out = {
        "vision_model.embeddings.class_embedding": v["class_embedding"],
        "vision_model.embeddings.position_embedding.weight": v["positional_embedding"],
        "vision_model.embeddings.patch_embedding.weight": v["conv1.weight"],
        "visual_projection.weight": v["proj"].t().contiguous(),
    }
    for ours, theirs in (("pre_layrnorm", "ln_pre"), ("post_layernorm", "ln_post")):
        for p in ("weight", "bias"):
            out[f"vision_model.{ours}.{p}"] = v[f"{theirs}.{p}"]
    names = {"ln_1": "layer_norm1", "ln_2": "layer_norm2", "attn.out_proj": "self_attn.out_proj",
             "mlp.c_fc": "mlp.fc1", "mlp.c_proj": "mlp.fc2"}  # fmt: skip
    layers = {int(m.group(1)) for k in v if (m := re.match(r"transformer\.resblocks\.(\d+)\.", k))}
    for i in sorted(layers):
        src, dst = f"transformer.resblocks.{i}.", f"vision_model.encoder.layers.{i}."
        for theirs, ours in names.items():
            for p in ("weight", "bias"):
                out[f"{dst}{ours}.{p}"] = v[f"{src}{theirs}.{p}"]
        for p in ("weight", "bias"):  # one packed q/k/v projection → three
            for name, part in zip("qkv", v[f"{src}attn.in_proj_{p}"].chunk(3, dim=0)):
                out[f"{dst}self_attn.{name}_proj.{p}"] = part.contiguous()
    return out


def config_from_state_dict(sd: dict[str, torch.Tensor], path: Path):
    """The ``CLIPVisionConfig`` whose tensors have these shapes."""
    tf = _transformers()
    key = "vision_model.embeddings.patch_embedding.weight"
    if key not in sd:
        raise DataError(path, key, "not a CLIP vision checkpoint (missing key)")
    width, _, patch, _ = sd[key].shape
    positions = sd["vision_model.embeddings.position_embedding.weight"].shape[0]
    layers = 1 + max(int(m.group(1)) for k in sd if (m := re.match(r"vision_model\.encoder\.layers\.(\d+)\.", k)))
    proj = sd.get("visual_projection.weight")
    if proj is None:
        raise DataError(path, "visual_projection.weight", "missing: the image tower needs its projection")
    return tf.CLIPVisionConfig(
        hidden_size=int(width),
        intermediate_size=int(sd["vision_model.encoder.layers.0.mlp.fc1.weight"].shape[0]),
        num_hidden_layers=layers,
        num_attention_heads=max(1, int(width) // 64),
        patch_size=int(patch),
        image_size=int(patch) * math.isqrt(int(positions) - 1),
        projection_dim=int(proj.shape[0]),
    )


def build_clip_vision(config):
    """A CLIP image tower for ``config`` (a ``CLIPVisionConfig`` or its dict), random-initialised."""
    tf = _transformers()
    if isinstance(config, dict):
        config = tf.CLIPVisionConfig(**config)
    return tf.CLIPVisionModelWithProjection(config).eval()


def load_clip_vision(weights: str | os.PathLike):
    """The CLIP image tower stored at ``weights`` (see the module docstring), in eval mode."""
    tf = _transformers()
    path = Path(weights)
    if not path.exists():
        raise DataError(path, None, "CLIP weights not found")
    if path.is_dir():
        try:
            return tf.CLIPVisionModelWithProjection.from_pretrained(str(path), local_files_only=True).eval()
        except (OSError, ValueError) as err:
            raise DataError(path, None, f"not a Hugging Face CLIP folder: {err}") from None
    obj = _read_state_dict(path)
    raw = {k.removeprefix("module."): v for k, v in obj["state_dict"].items()}
    obj["state_dict"] = from_openai(raw) if any(k.startswith("visual.") for k in raw) else raw
    sd = {k: v for k, v in obj["state_dict"].items() if k.startswith(VISION_PREFIXES)}
    if not sd:
        first = next(iter(obj["state_dict"]), "(empty)")
        raise DataError(path, first, "no CLIP vision keys (expected 'vision_model.*' and 'visual_projection.*')")
    config = obj.get("config") or config_from_state_dict(sd, path)
    tower = build_clip_vision(config)
    own = tower.state_dict()
    for key, value in sd.items():
        if key in own and tuple(own[key].shape) != tuple(value.shape):
            raise DataError(path, key, f"shape {tuple(value.shape)} does not match the tower's {tuple(own[key].shape)}")
    missing, unexpected = tower.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        bad = (missing or unexpected)[0]
        raise DataError(path, bad, f"does not match the CLIP image tower ({'missing' if missing else 'unexpected'})")
    return tower


def save_clip_vision(tower, path: str | os.PathLike) -> None:
    """Write a tower's weights and config to ``path`` (``.pt``), atomically; ``load_clip_vision`` reads it."""
    from unimd_lib.formats.files import atomic_path

    state = {"config": tower.config.to_dict(), "state_dict": dict(tower.state_dict())}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
