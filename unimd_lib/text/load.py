"""Choosing an encoder: by name (``minilm``, ``clip``), from a recipe, or the one a trained run used."""

from __future__ import annotations

import os
from pathlib import Path

from unimd_lib.errors import ConfigError, DataError
from unimd_lib.formats.files import read_json, write_json_atomic
from unimd_lib.text.base import TextEncoder
from unimd_lib.text.recipe import MANIFEST, TextRecipe

ENCODERS = ("minilm", "clip")


def load_text_encoder(
    name_or_recipe: str | TextRecipe,
    *,
    weights: str | os.PathLike | None = None,
    device: str = "cpu",
    tokenizer: str | os.PathLike | None = None,
    arch: str = "ViT-B/32",
    template: str = "{}",
    normalisation: str = "l2",
    output_dim: int | None = None,
    mapping: str | None = None,
    mapping_seed: int = 0,
) -> TextEncoder:
    """An encoder by name, or the one a recipe describes (its weights are checked against the recipe's sha256).

    ``minilm``: the bundled all-MiniLM-L6-v2 (384-d), or ``weights=<sentence-transformers folder>``.
    ``clip``: CLIP's text tower ``arch`` from ``weights`` (OpenAI / open_clip file, or a Hugging Face folder),
    tokenizer from ``tokenizer`` or the weights folder. ``output_dim`` ≠ the native dim adds the fixed ``mapping``
    (``orthogonal``, seeded by ``mapping_seed``, or ``zero_pad``), recorded in ``encoder.recipe``.
    """
    if isinstance(name_or_recipe, TextRecipe):
        return _from_recipe(name_or_recipe, weights=weights, device=device, tokenizer=tokenizer)
    opts = dict(template=template, normalisation=normalisation, output_dim=output_dim, mapping=mapping,
                mapping_seed=mapping_seed, device=device)  # fmt: skip
    if name_or_recipe == "minilm":
        from unimd_lib.text.sentence import load_sentence_encoder

        return load_sentence_encoder("minilm", weights, **opts)
    if name_or_recipe == "clip":
        from unimd_lib.text.clip import load_clip_encoder

        return load_clip_encoder("clip", weights, tokenizer=tokenizer, arch=arch, **opts)
    raise ConfigError(None, "text_encoder", f"unknown text encoder {name_or_recipe!r}; expected one of {ENCODERS}")


def _from_recipe(recipe: TextRecipe, *, weights, device: str, tokenizer) -> TextEncoder:
    enc = load_text_encoder(
        recipe.encoder, weights=weights if weights is not None else recipe.weights, device=device,
        tokenizer=tokenizer, arch=recipe.arch or "ViT-B/32", template=recipe.template,
        normalisation=recipe.normalisation, output_dim=recipe.output_dim, mapping=recipe.mapping,
        mapping_seed=recipe.mapping_seed,
    )  # fmt: skip
    if recipe.weights_sha256 and enc.recipe.weights_sha256 != recipe.weights_sha256:
        raise DataError(enc.recipe.weights or recipe.encoder, "weights_sha256",
                        f"these weights ({enc.recipe.weights_sha256[:12]}…) are not the ones the embeddings were "
                        f"made with ({recipe.weights_sha256[:12]}…)")  # fmt: skip
    if enc.recipe.native_dim != recipe.native_dim:
        raise DataError(recipe.weights, "native_dim", f"encoder gives {enc.recipe.native_dim}-d, recipe says "
                        f"{recipe.native_dim}-d")  # fmt: skip
    return enc


def write_manifest(folder: str | os.PathLike, recipe: TextRecipe, **extra) -> Path:
    """``folder/manifest.json``: the recipe plus what was written (``extra``), atomically."""
    path = Path(folder) / MANIFEST
    write_json_atomic(path, {"recipe": recipe.to_dict(), **extra})
    return path


def read_manifest(path: str | os.PathLike) -> tuple[TextRecipe, dict]:
    raw = read_json(path)
    if not isinstance(raw, dict) or "recipe" not in raw:
        raise DataError(path, "recipe", "a text manifest needs a 'recipe' object")
    return TextRecipe.from_dict(raw["recipe"], path), raw


def manifest_for(data_cfg) -> Path | None:
    """The manifest next to a data config's text embeddings (class vocabulary first, then the MR folder)."""
    places = []
    if data_cfg.tad is not None and data_cfg.tad.class_embeddings is not None:
        places.append(Path(data_cfg.tad.class_embeddings).parent / MANIFEST)
    if data_cfg.mr is not None and data_cfg.mr.embedding_folder is not None:
        places.append(Path(data_cfg.mr.embedding_folder) / MANIFEST)
    return next((p for p in places if p.is_file()), None)


def run_text_encoder(run_dir: str | os.PathLike, *, device: str = "cpu", weights=None, tokenizer=None) -> TextEncoder:
    """The encoder a trained run's queries were embedded with (the manifest beside its embedding files)."""
    from unimd_lib.config.load import load_config

    cfg = load_config(Path(run_dir) / "config.yaml")
    path = manifest_for(cfg.data)
    if path is None:
        raise ConfigError(Path(run_dir) / "config.yaml", "data", "the run's text embeddings carry no manifest.json "
                          "(made without a known encoder, e.g. `make-synthetic --text-encoder random`): embed them "
                          "with `unimd embed-text` or pass an encoder explicitly")  # fmt: skip
    recipe, _ = read_manifest(path)
    enc = load_text_encoder(recipe, weights=weights, device=device, tokenizer=tokenizer)
    if cfg.data.text_dim is not None and enc.recipe.output_dim != cfg.data.text_dim:
        raise ConfigError(path, "recipe.output_dim", f"{enc.recipe.output_dim}-d embeddings but the run's model "
                          f"reads {cfg.data.text_dim}-d queries")  # fmt: skip
    return enc
