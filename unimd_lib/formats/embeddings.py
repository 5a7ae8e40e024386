"""Text-embedding files (spec §6.5).

* TAD vocabulary: one ``.npz`` with key ``features`` — [K, E] (Ego4D, ANet) or stored transposed [E, K]
  (Charades; the caller says so, we never guess from the shape). Rows are L2-normalised; ANet then averages
  all rows into one class-agnostic query **without** re-normalising (original behaviour).
* MR: one ``.npz`` per video with ``features`` [N, E] and ``queries`` [N]; row i must embed the i-th
  annotated sentence, checked with the benchmark's text rule. Not normalised by default (original quirk,
  spec §11 item 6) — ``normalise=True`` turns it on.
"""

from __future__ import annotations

import os

import numpy as np

from unimd_lib.errors import DataError
from unimd_lib.formats.arrays import load_array, load_npz
from unimd_lib.formats.features import l2_normalise

TEXT_RULES = ("exact", "ego4d")


def query_text_key(text: str, rule: str) -> str:
    """The string the embedding file stores for an annotated sentence.

    ``ego4d``: ``text.strip("?").strip(".") + "?"`` (spec §6.2); ``exact``: unchanged (Charades-STA,
    ANet-Captions keep e.g. leading spaces).
    """
    if rule == "ego4d":
        return text.strip("?").strip(".") + "?"
    if rule == "exact":
        return text
    raise ValueError(f"unknown text rule {rule!r}; expected one of {TEXT_RULES}")


def _check_matrix(path, item: str | None, arr: np.ndarray, dim: int | None, what: str) -> np.ndarray:
    if arr.ndim != 2:
        raise DataError(path, item, f"{what} must be 2-D, got shape {tuple(arr.shape)}")
    if not np.issubdtype(arr.dtype, np.floating):
        raise DataError(path, item, f"{what} must be floating point, got dtype {arr.dtype}")
    if not np.isfinite(arr).all():
        row = int(np.argwhere(~np.isfinite(arr))[0, 0])
        raise DataError(path, item, f"{what} has a non-finite value (NaN/inf) in row {row}")
    if dim is not None and arr.shape[1] != dim:
        raise DataError(path, item, f"{what} dimension {arr.shape[1]} != expected {dim} (shape {tuple(arr.shape)})")
    return arr.astype(np.float32, copy=False)


def read_class_embeddings(
    path: str | os.PathLike,
    *,
    num_classes: int,
    dim: int | None = None,
    transposed: bool = False,
    average: bool = False,
) -> np.ndarray:
    """The TAD query matrix [num_classes, E] float32 (after the optional transpose / average)."""
    arr = load_array(path, "class embeddings", "features")
    if arr.ndim == 2 and transposed:
        arr = arr.T
    if arr.ndim == 2 and not average and arr.shape[0] != num_classes:
        hint = " (stored as [E, K]? set embeddings_transposed)" if arr.shape[1] == num_classes else ""
        raise DataError(path, "class embeddings", f"{arr.shape[0]} rows != num_classes {num_classes}{hint}")
    arr = _check_matrix(path, "class embeddings", arr, dim, "class embeddings")
    arr = l2_normalise(arr, axis=1)
    if average:
        arr = arr.mean(axis=0, keepdims=True)  # ANet class-agnostic query; deliberately not re-normalised
        if num_classes != 1:
            raise DataError(path, "class embeddings", f"averaging gives one query but num_classes is {num_classes}")
    return np.ascontiguousarray(arr, dtype=np.float32)


def read_query_embeddings(
    path: str | os.PathLike,
    video_id: str,
    texts: list[str],
    *,
    rule: str,
    dim: int | None = None,
    normalise: bool = False,
) -> np.ndarray:
    """One video's MR query matrix [N, E], row i checked against ``texts[i]`` under ``rule``."""
    item = f"video {video_id}"
    z = load_npz(path, item, ("features", "queries"))
    feats, stored = z["features"], z["queries"]
    feats = _check_matrix(path, item, feats, dim, "query embeddings")
    if stored.ndim != 1:
        raise DataError(path, item, f"'queries' must be 1-D, got shape {tuple(stored.shape)}")
    if feats.shape[0] != stored.shape[0]:
        raise DataError(path, item, f"{feats.shape[0]} embedding rows but {stored.shape[0]} stored query strings")
    if feats.shape[0] != len(texts):
        raise DataError(path, item, f"{feats.shape[0]} query embeddings but {len(texts)} annotated queries")
    for i, (have, text) in enumerate(zip(stored.tolist(), texts)):
        want = query_text_key(text, rule)
        if str(have) != want:
            raise DataError(path, f"{item}, query {i}", f"stored query {str(have)!r} != annotation {want!r}")
    if normalise:
        feats = l2_normalise(feats, axis=1)
    return np.ascontiguousarray(feats, dtype=np.float32)
