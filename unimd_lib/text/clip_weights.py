"""Reading CLIP text-tower weights: OpenAI (TorchScript or state dict), open_clip and Hugging Face checkpoints,
from a file or a folder, into the Hugging Face ``CLIPTextModelWithProjection`` key layout."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from unimd_lib.errors import DataError

# tower shapes by model name (the text towers of ViT-B/32 and ViT-B/16 are the same)
ARCHS: dict[str, dict[str, int]] = {
    "ViT-B/32": {"width": 512, "layers": 12, "heads": 8, "context": 77, "vocab": 49408, "embed": 512},
    "ViT-B/16": {"width": 512, "layers": 12, "heads": 8, "context": 77, "vocab": 49408, "embed": 512},
    "ViT-L/14": {"width": 768, "layers": 12, "heads": 12, "context": 77, "vocab": 49408, "embed": 768},
}
FOLDER_FILES = (
    "model.safetensors", "pytorch_model.bin", "open_clip_model.safetensors", "open_clip_pytorch_model.bin",
)  # fmt: skip
_LAYER_MAP = {
    "attn.out_proj": "self_attn.out_proj", "ln_1": "layer_norm1", "ln_2": "layer_norm2",
    "mlp.c_fc": "mlp.fc1", "mlp.c_proj": "mlp.fc2",
}  # fmt: skip


def weights_path(path: str | os.PathLike) -> Path:
    """The checkpoint file: ``path`` itself, or the known weight file inside a folder."""
    p = Path(path)
    if p.is_dir():
        for name in FOLDER_FILES:
            if (p / name).is_file():
                return p / name
        raise DataError(p, "weights", f"no CLIP checkpoint in this folder (looked for {', '.join(FOLDER_FILES)})")
    if not p.is_file():
        raise DataError(p, "weights", "CLIP weights file not found")
    return p


def _read(path: Path) -> dict:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as first:  # OpenAI's released .pt files are TorchScript archives
        try:
            return torch.jit.load(str(path), map_location="cpu").state_dict()
        except Exception:
            raise DataError(path, "weights", f"cannot read as a torch checkpoint: {first}") from None


def read_text_tower(path: Path) -> dict[str, torch.Tensor]:
    """The text tower's tensors (float32) in Hugging Face layout; vision and other keys are dropped."""
    sd = _read(path)
    for key in ("state_dict", "model"):
        if isinstance(sd, dict) and key in sd and isinstance(sd[key], dict):
            sd = sd[key]
    if not isinstance(sd, dict) or not sd:
        raise DataError(path, "weights", "not a state dict (expected a mapping of parameter names to tensors)")
    sd = {k.removeprefix("module."): v for k, v in sd.items() if isinstance(v, torch.Tensor)}
    if any(k.startswith("text_model.") for k in sd):
        out = {k: v for k, v in sd.items() if k.startswith("text_model.") or k == "text_projection.weight"}
    elif "token_embedding.weight" in sd or any(k.startswith("transformer.resblocks.") for k in sd):
        out = openai_to_hf(sd)
    else:
        raise DataError(path, next(iter(sd)), "not a CLIP checkpoint: no 'text_model.*' (Hugging Face) or "
                        "'token_embedding.weight' / 'transformer.resblocks.*' (OpenAI / open_clip) keys")  # fmt: skip
    return {k: v.float() for k, v in out.items()}


def openai_to_hf(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """OpenAI / open_clip key names → Hugging Face's (q, k, v split out of ``in_proj``; projection transposed)."""
    out: dict[str, torch.Tensor] = {}
    simple = {
        "token_embedding.weight": "text_model.embeddings.token_embedding.weight",
        "positional_embedding": "text_model.embeddings.position_embedding.weight",
        "ln_final.weight": "text_model.final_layer_norm.weight",
        "ln_final.bias": "text_model.final_layer_norm.bias",
    }
    for src, dst in simple.items():
        if src in sd:
            out[dst] = sd[src]
    if "text_projection" in sd:
        out["text_projection.weight"] = sd["text_projection"].t().contiguous()
    for key, value in sd.items():
        if not key.startswith("transformer.resblocks."):
            continue
        layer, rest = key.removeprefix("transformer.resblocks.").split(".", 1)
        base = f"text_model.encoder.layers.{layer}"
        if rest.startswith("attn.in_proj_"):
            kind = rest.removeprefix("attn.in_proj_")  # weight | bias
            for name, part in zip(("q", "k", "v"), value.chunk(3, dim=0)):
                out[f"{base}.self_attn.{name}_proj.{kind}"] = part.contiguous()
            continue
        for src, dst in _LAYER_MAP.items():
            if rest.startswith(src + "."):
                out[f"{base}.{dst}.{rest.removeprefix(src + '.')}"] = value
                break
        else:
            out[f"{base}.{rest}"] = value  # unknown: reported as an unexpected key by the shape check
    return out


def check_against(expected: dict[str, torch.Tensor], got: dict[str, torch.Tensor], path: Path, arch: str) -> None:
    """Every expected key present with its shape, and nothing extra; else name the first mismatching key."""
    for key, ref in expected.items():
        if key not in got:
            raise DataError(path, key, f"weights of another architecture: missing for CLIP {arch} text tower")
        if tuple(got[key].shape) != tuple(ref.shape):
            raise DataError(path, key, f"weights of another architecture: shape {tuple(got[key].shape)}, "
                            f"CLIP {arch} text tower has {tuple(ref.shape)}")  # fmt: skip
    extra = sorted(set(got) - set(expected))
    if extra:
        raise DataError(path, extra[0], f"weights of another architecture: not a CLIP {arch} text-tower key")
