"""Video features of a parity case regenerated from their seed instead of stored (the repository's trimmed
copy of a case, ``tests/refcases/model/``).

The reference inputs were drawn with ``torch.Generator().manual_seed(seed)`` in a fixed order (a common
direction, the class rows, then per video its features and its query rows; refcases/model ``inputs.json``
``seeds``), each feature row L2-normalised. ``inputs.json`` of a trimmed case lists that order under
``generated_features``; replaying it gives the stored arrays bit for bit with this torch build. A checksum
guards against a torch build that draws another stream: an exact sha256 match, or float64 moments within
1e-6 (a last-bit difference of the vectorised normal sampler on another CPU changes nothing the checks see).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from unimd_lib.errors import DataError

MOMENT_RTOL = 1e-6


def feature_moments(feats: np.ndarray) -> list[float]:
    """float64 sum, sum of squares and an index-weighted sum of a (C, T) array: a tolerant fingerprint."""
    x = feats.astype(np.float64)
    w = (np.arange(x.size, dtype=np.float64) % 7 - 3).reshape(x.shape)
    return [float(x.sum()), float((x * x).sum()), float((x * w).sum())]


def feature_fingerprint(feats: np.ndarray) -> dict:
    return {"sha256": hashlib.sha256(np.ascontiguousarray(feats, np.float32).tobytes()).hexdigest(),
            "moments": feature_moments(feats)}  # fmt: skip


def generate_features(spec: dict, source: str | Path) -> dict[int, np.ndarray]:
    """``{video index: (C, T) float32}`` from a ``generated_features`` spec, checked against its fingerprints."""
    g = torch.Generator().manual_seed(int(spec["seed"]))
    out: dict[int, np.ndarray] = {}
    for draw in spec["draws"]:
        x = torch.randn(*draw["shape"], generator=g)
        if "video" in draw:
            out[int(draw["video"])] = (x / x.norm(dim=1, keepdim=True)).numpy().T.copy()
    for v, feats in out.items():
        expected = spec["fingerprints"][str(v)]
        got = feature_fingerprint(feats)
        if got["sha256"] != expected["sha256"] and not np.allclose(
            got["moments"], expected["moments"], rtol=MOMENT_RTOL, atol=0
        ):
            raise DataError(
                source,
                f"v{v}.feats",
                "regenerated features differ from the reference (this torch build draws another random "
                f"stream): moments {got['moments']} != {expected['moments']}",
            )
    return out
