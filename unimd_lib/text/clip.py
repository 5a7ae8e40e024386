"""The CLIP text tower (``transformers``' CLIPTextModelWithProjection; no torchvision / open_clip needed)
behind ``TextEncoder``: OpenAI's pooling (the end-of-text token's state), projection, then the recipe."""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from unimd_lib.errors import ConfigError, DataError
from unimd_lib.formats.files import sha256_of
from unimd_lib.text.base import apply_template, batches, check_texts, warn_truncated
from unimd_lib.text.clip_tokenizer import load_clip_tokenizer, tokenizer_source
from unimd_lib.text.clip_weights import ARCHS, check_against, read_text_tower, weights_path
from unimd_lib.text.recipe import TextRecipe, choose_mapping, finish


def text_config(arch: str, eos_token_id: int = 49407):
    """The ``CLIPTextConfig`` of a named tower (``ARCHS``)."""
    from transformers import CLIPTextConfig

    if arch not in ARCHS:
        raise ConfigError(None, "arch", f"unknown CLIP architecture {arch!r}; expected one of {sorted(ARCHS)}")
    a = ARCHS[arch]
    return CLIPTextConfig(
        vocab_size=a["vocab"], hidden_size=a["width"], intermediate_size=4 * a["width"],
        num_hidden_layers=a["layers"], num_attention_heads=a["heads"], max_position_embeddings=a["context"],
        projection_dim=a["embed"], hidden_act="quick_gelu", eos_token_id=eos_token_id, bos_token_id=eos_token_id - 1,
        pad_token_id=eos_token_id,
    )  # fmt: skip


def build_tower(arch: str, eos_token_id: int = 49407):
    """A randomly initialised text tower of ``arch`` (eval mode, float32)."""
    from transformers import CLIPTextModelWithProjection

    return CLIPTextModelWithProjection(text_config(arch, eos_token_id)).eval()


def _load(weights: str, tokenizer: str | None, arch: str, device: str):
    path = weights_path(weights)
    stat = path.stat()  # a rewritten file at the same path is read again
    return _load_cached(str(path), weights, tokenizer, arch, device, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=2)
def _load_cached(file: str, weights: str, tokenizer: str | None, arch: str, device: str, *_stamp):
    path = Path(file)
    tok = load_clip_tokenizer(tokenizer_source(tokenizer, Path(weights)))
    model = build_tower(arch, int(tok.eos_token_id))
    state = read_text_tower(path)
    expected = {k: v for k, v in model.state_dict().items() if not k.endswith("position_ids")}
    state = {k: v for k, v in state.items() if not k.endswith("position_ids")}
    check_against(expected, state, path, arch)
    model.load_state_dict(state, strict=False)
    return path, tok, model.to(device)


def local_or_download(weights: str | os.PathLike) -> Path:
    """A local file / folder as it is; a Hugging Face Hub name (``openai/clip-vit-base-patch32``) that is not a
    local path is downloaded (weights, config and tokenizer files) where the machine can reach the Hub."""
    p = Path(weights)
    if p.exists() or p.suffix or str(weights).count("/") != 1 or str(weights).startswith((".", "/")):
        return p
    from huggingface_hub import snapshot_download

    try:
        files = ["*.json", "*.txt", "model.safetensors"]
        return Path(snapshot_download(str(weights), allow_patterns=files))
    except Exception as err:  # offline, unknown name, ...: say both readings of the argument
        raise DataError(weights, "weights", f"no such local file or folder, and fetching it from the Hugging Face "
                        f"Hub failed ({type(err).__name__})") from err  # fmt: skip


class ClipTextEncoder:
    """CLIP's text tower; texts longer than the context (77 tokens) are cut, with a warning."""

    def __init__(self, tokenizer, model, recipe: TextRecipe, device: str = "cpu", batch_size: int = 64):
        self.tokenizer, self.model, self.recipe = tokenizer, model, recipe
        self.device, self.batch_size = device, batch_size

    @torch.no_grad()
    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        texts = apply_template(check_texts(texts), self.recipe.template)
        if not texts:
            return np.zeros((0, self.recipe.output_dim), np.float32)
        ctx = int(self.recipe.context_length or 77)
        lengths = [len(ids) for ids in self.tokenizer(texts)["input_ids"]]
        warn_truncated(lengths, texts, ctx, self.recipe.encoder)
        out = []
        for part in tqdm(batches(len(texts), self.batch_size), disable=not progress, desc="encode", leave=False):
            enc = self.tokenizer(texts[part], padding="max_length", max_length=ctx, truncation=True,
                                 return_tensors="pt")  # fmt: skip
            emb = self.model(input_ids=enc["input_ids"].to(self.device)).text_embeds
            out.append(emb.float().cpu().numpy())
        return finish(np.concatenate(out), self.recipe)


def load_clip_encoder(
    name: str,
    weights: str | os.PathLike | None,
    *,
    tokenizer: str | os.PathLike | None,
    arch: str,
    template: str,
    normalisation: str,
    output_dim: int | None,
    mapping: str | None,
    mapping_seed: int,
    device: str,
) -> ClipTextEncoder:
    if weights is None:
        raise ConfigError(None, "weights", "the 'clip' encoder needs weights=<file or folder> (OpenAI .pt, "
                          "open_clip .bin/.safetensors or a Hugging Face CLIP folder); none ships offline")  # fmt: skip
    weights = local_or_download(weights)
    path, tok, model = _load(str(weights), None if tokenizer is None else str(tokenizer), arch, device)
    native = int(model.config.projection_dim)
    out, kind = choose_mapping(native, output_dim, mapping)
    recipe = TextRecipe(
        encoder=name, weights=str(weights), weights_sha256=sha256_of(path), template=template,
        normalisation=normalisation, native_dim=native, output_dim=out, mapping=kind, mapping_seed=mapping_seed,
        arch=arch, context_length=int(model.config.max_position_embeddings),
    )  # fmt: skip
    recipe.validate()
    return ClipTextEncoder(tok, model, recipe, device)
