"""Closed-form, counter-based weights of the parity reference cases (refcases/model/README.md §1).

Every float tensor of the original model was overwritten by ``center + half_width * (2u - 1)`` where ``u`` is a
SplitMix64-style hash of the element's C-order index and a per-tensor seed (crc32 of the original parameter
name). The recipe JSON lists name, shape, seed, center, half-width and a checksum per tensor; this module
evaluates the formula with vectorised uint64 numpy (no Python loop over elements) and checks the checksums.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_CHUNK = 1 << 22  # elements per chunk: bounds the uint64 temporaries to a few tens of MB


@dataclass(frozen=True)
class RecipeTensor:
    """One entry of ``weights_recipe.json``; ``center`` is None for tensors that keep their init (int buffers)."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    seed: int | None
    center: float | None
    half_width: float | None
    checksum_sum: float | None
    checksum_first: tuple[float, ...] | None


def uniform01(seed: int, n: int, start: int = 0) -> np.ndarray:
    """``u[i]`` in [0, 1) for i = start .. start+n-1 (float64), the README's counter-based hash."""
    with np.errstate(over="ignore"):
        i1 = np.arange(start + 1, start + n + 1, dtype=np.uint64)
        x = i1 * _GOLDEN + (np.uint64(seed) * _MIX1)
        x ^= x >> np.uint64(30)
        x *= _MIX1
        x ^= x >> np.uint64(27)
        x *= _MIX2
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) * (2.0**-53)


def recipe_values(seed: int, shape: tuple[int, ...], center: float, half_width: float) -> np.ndarray:
    """float32 array of ``shape`` filled in C order with ``float32(center + half_width * (2u - 1))``."""
    n = int(np.prod(shape, dtype=np.int64))
    out = np.empty(n, dtype=np.float32)
    for start in range(0, n, _CHUNK):
        u = uniform01(seed, min(_CHUNK, n - start), start)
        out[start : start + u.size] = (center + half_width * (2.0 * u - 1.0)).astype(np.float32)
    return out.reshape(shape)


def read_recipe(path: str | os.PathLike) -> list[RecipeTensor]:
    """Parse ``weights_recipe.json``; the seed is recomputed from the name and must match the stored one."""
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    out = []
    for t in doc["tensors"]:
        seed = t.get("seed_crc32")
        if seed is not None and seed != zlib.crc32(t["name"].encode("utf-8")):
            raise ValueError(f"{path}: {t['name']}: seed {seed} is not crc32 of the name")
        first = t.get("checksum_first")
        out.append(
            RecipeTensor(
                name=t["name"],
                shape=tuple(t["shape"]),
                dtype=t.get("dtype", "float32"),
                seed=seed,
                center=t.get("center"),
                half_width=t.get("half_width"),
                checksum_sum=t.get("checksum_sum_f64"),
                checksum_first=None if first is None else tuple(first),
            )
        )
    return out


def iter_recipe_arrays(entries: list[RecipeTensor], *, verify: bool = True) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``(original_name, float32 array)`` for every tensor with a formula (int buffers are skipped).

    With ``verify`` the float64 sum and the first values are checked against the JSON (a wrong port of the
    formula fails loudly here instead of as a parity mismatch later).
    """
    for e in entries:
        if e.center is None:
            continue
        arr = recipe_values(e.seed, e.shape, e.center, e.half_width)
        if verify:
            flat = arr.reshape(-1)
            if e.checksum_first is not None:
                k = len(e.checksum_first)
                if not np.array_equal(flat[:k], np.asarray(e.checksum_first, dtype=np.float32)):
                    raise ValueError(f"recipe tensor {e.name}: first values {flat[:k]} != {e.checksum_first}")
            if e.checksum_sum is not None:
                s = float(flat.sum(dtype=np.float64))
                if not np.isclose(s, e.checksum_sum, rtol=1e-9, atol=1e-9 * max(1.0, flat.size)):
                    raise ValueError(f"recipe tensor {e.name}: sum {s!r} != checksum {e.checksum_sum!r}")
        yield e.name, arr
