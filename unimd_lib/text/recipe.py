"""What a set of text embeddings was made with (the *recipe*), and the fixed map to the model's query dim.

A recipe is enough to make the same embeddings again: encoder name, weights (path as given, and the sha256 that
pins them), prompt template, normalisation, native and output dims and the dim mapping. It is written next to
the embedding files (``manifest.json``) so a trained run knows how to embed new queries.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import numpy as np

from unimd_lib.errors import ConfigError
from unimd_lib.formats.features import l2_normalise

MAPPINGS = ("identity", "orthogonal", "zero_pad")
NORMALISATIONS = ("l2", "none")
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class TextRecipe:
    """How texts become embeddings. ``mapping`` is ``identity`` when ``native_dim == output_dim``."""

    encoder: str
    weights: str | None
    weights_sha256: str | None
    template: str = "{}"
    normalisation: str = "l2"
    native_dim: int = 0
    output_dim: int = 0
    mapping: str = "identity"
    mapping_seed: int = 0
    arch: str | None = None
    context_length: int | None = None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict, path: str | os.PathLike | None = None) -> TextRecipe:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - names)
        if unknown:
            raise ConfigError(path, f"recipe.{unknown[0]}", f"unknown recipe key; expected {sorted(names)}")
        if "encoder" not in raw:
            raise ConfigError(path, "recipe.encoder", "missing required key")
        recipe = cls(**{"weights": None, "weights_sha256": None, **raw})
        recipe.validate(path)
        return recipe

    def validate(self, path: str | os.PathLike | None = None) -> None:
        if self.mapping not in MAPPINGS:
            raise ConfigError(path, "recipe.mapping", f"{self.mapping!r} is not one of {MAPPINGS}")
        if self.normalisation not in NORMALISATIONS:
            raise ConfigError(path, "recipe.normalisation", f"{self.normalisation!r} is not one of {NORMALISATIONS}")
        if "{}" not in self.template:
            raise ConfigError(path, "recipe.template", f"template {self.template!r} has no '{{}}' for the text")
        if self.mapping == "identity" and self.native_dim != self.output_dim:
            raise ConfigError(path, "recipe.mapping", f"identity cannot map {self.native_dim}-d to {self.output_dim}-d")
        if self.mapping == "zero_pad" and self.output_dim < self.native_dim:
            raise ConfigError(path, "recipe.mapping", "zero_pad needs output_dim >= native_dim")


def choose_mapping(native_dim: int, output_dim: int | None, mapping: str | None) -> tuple[int, str]:
    """The output dim and the mapping: identity when the dims agree, else the requested (default orthogonal)."""
    out = native_dim if output_dim is None else int(output_dim)
    if out == native_dim:
        return out, "identity"
    return out, mapping or "orthogonal"


def mapping_matrix(native_dim: int, output_dim: int, kind: str, seed: int) -> np.ndarray | None:
    """[native, output] float64 matrix (None for identity). Orthogonal: orthonormal rows when widening (inner
    products kept exactly), orthonormal columns when narrowing (a fixed random subspace); seeded, sign-fixed QR."""
    if kind == "identity":
        return None
    if kind == "zero_pad":
        return np.eye(native_dim, output_dim)
    big, small = max(native_dim, output_dim), min(native_dim, output_dim)
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((big, small)))
    q = q * np.sign(np.diag(r))[None, :]
    return q.T if native_dim < output_dim else q


def finish(native: np.ndarray, recipe: TextRecipe) -> np.ndarray:
    """Native encoder outputs [N, native_dim] → the recipe's embeddings [N, output_dim] float32."""
    x = native.astype(np.float64)
    if recipe.normalisation == "l2":
        x = l2_normalise(x, axis=1)
    m = mapping_matrix(recipe.native_dim, recipe.output_dim, recipe.mapping, recipe.mapping_seed)
    if m is not None:
        x = x @ m
        if recipe.normalisation == "l2":
            x = l2_normalise(x, axis=1)  # a narrowing projection shortens vectors: unit length again
    return np.ascontiguousarray(x, dtype=np.float32)
