"""Decoding of the per-level head outputs of one video into candidate segments (spec §8.1) and the
grid → seconds mapping (spec §8.3). Plain numpy; no torch.

Per level: prob[t, k] = σ(logit[t, k]) · mask[t], flattened in (t, k) order; keep prob > ``pre_nms_thresh``;
sort descending (stable: on exactly equal scores the lower flat index first); keep the top ``pre_nms_topk``;
point = idx // K, class = idx % K; segment = [t − o_left·s, t + o_right·s] with the class's own offsets;
keep segments longer than ``duration_thresh`` grid units. Levels are concatenated in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np


class Segments(NamedTuple):
    """Segments [N, 2] float32 (grid units or seconds), scores [N] float32, labels [N] int64."""

    segments: np.ndarray
    scores: np.ndarray
    labels: np.ndarray

    @staticmethod
    def empty() -> Segments:
        return Segments(np.zeros((0, 2), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))


def sigmoid(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    with np.errstate(over="ignore"):
        return (np.float32(1.0) / (np.float32(1.0) + np.exp(-x))).astype(np.float32)


def decode_level(
    logits: np.ndarray,
    offsets: np.ndarray,
    points: np.ndarray,
    mask: np.ndarray,
    *,
    pre_nms_thresh: float,
    pre_nms_topk: int,
    duration_thresh: float,
) -> Segments:
    """One level: logits [T, K], offsets [T, K, 2] (strides), points [T, 4] (t, lo, hi, s), mask [T] bool."""
    num_k = logits.shape[1]
    prob = (sigmoid(logits) * mask[:, None].astype(np.float32)).reshape(-1)
    cand = np.flatnonzero(prob > pre_nms_thresh)
    order = np.argsort(-prob[cand], kind="stable")[:pre_nms_topk]
    idx = cand[order]
    scores = prob[idx]
    pt, cls = idx // num_k, idx % num_k
    off = offsets[pt, cls]
    t, s = points[pt, 0], points[pt, 3]
    segs = np.stack([t - off[:, 0] * s, t + off[:, 1] * s], axis=-1).astype(np.float32)
    keep = (segs[:, 1] - segs[:, 0]) > duration_thresh
    return Segments(segs[keep], scores[keep], cls[keep].astype(np.int64))


def decode_video(
    logits: Sequence[np.ndarray],
    offsets: Sequence[np.ndarray],
    points: Sequence[np.ndarray],
    masks: Sequence[np.ndarray],
    *,
    pre_nms_thresh: float,
    pre_nms_topk: int,
    duration_thresh: float,
) -> Segments:
    """All levels of one video/task (lists as in ``decode_level``) → concatenated candidates, grid units."""
    parts = [
        decode_level(
            lg, off, pts, m, pre_nms_thresh=pre_nms_thresh, pre_nms_topk=pre_nms_topk, duration_thresh=duration_thresh
        )
        for lg, off, pts, m in zip(logits, offsets, points, masks, strict=True)
    ]
    if not parts:
        return Segments.empty()
    return Segments(*(np.concatenate(x) for x in zip(*parts, strict=True)))


def grid_to_seconds(
    segments: np.ndarray, *, fps: float, feat_stride: float, num_frames: float, duration: float
) -> np.ndarray:
    """t_sec = (g · feat_stride + 0.5 · num_frames) / fps, then clamped to [0, duration] (spec §8.3).

    float32 arithmetic as in the original. Values ≤ 0 become +0.0 (the original's ``segs[segs<=0] *= 0``
    gives -0.0 for negative values; equal in every comparison, so we return the plain zero).
    """
    segs = np.asarray(segments, dtype=np.float32)
    out = (segs * np.float32(feat_stride) + np.float32(0.5 * num_frames)) / np.float32(fps)
    out = np.where(out <= 0, np.float32(0.0), out)
    return np.where(out >= duration, np.float32(duration), out).astype(np.float32)
