"""Decoding of the per-level head outputs of one video into candidate segments (spec §8.1) and the
grid → seconds mapping (spec §8.3). numpy or CuPy arrays; no torch.

Per level: prob[t, k] = σ(logit[t, k]) · mask[t], flattened in (t, k) order; keep prob > ``pre_nms_thresh``;
sort descending (stable: on exactly equal scores the lower flat index first); keep the top ``pre_nms_topk``;
point = idx // K, class = idx % K; segment = [t − o_left·s, t + o_right·s] with the class's own offsets;
keep segments longer than ``duration_thresh`` grid units. Levels are concatenated in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from unimd_lib.post.order import group_score_key, rank_in_group, stable_argsort


class Candidates(NamedTuple):
    """Decoded candidates of many rows, flat: segments [N, 2] float32 (grid units), scores [N] float32, labels
    [N] int64, rows [N] int64; rows ascending, each row's items level by level, by score within a level."""

    segments: Any
    scores: Any
    labels: Any
    rows: Any


class Segments(NamedTuple):
    """Segments [N, 2] float32 (grid units or seconds), scores [N] float32, labels [N] int64."""

    segments: np.ndarray
    scores: np.ndarray
    labels: np.ndarray

    @staticmethod
    def empty() -> Segments:
        return Segments(np.zeros((0, 2), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))


def sigmoid(x: Any, xp: ModuleType = np) -> Any:
    """1 / (1 + exp(-x)) in float32, on numpy or CuPy."""
    x = xp.asarray(x, dtype=np.float32)
    with np.errstate(over="ignore"):
        return (np.float32(1.0) / (np.float32(1.0) + xp.exp(-x))).astype(np.float32)


def decode_rows(
    xp: ModuleType,
    logits: Any,
    offsets: Any,
    points: Any,
    masks: Any,
    query_mask: Any,
    level_lengths: Sequence[int],
    *,
    pre_nms_thresh: float,
    pre_nms_topk: int,
    duration_thresh: float,
) -> Candidates:
    """Decode many rows (one row = one video's queries of one task) at once, all levels together.

    Arrays of ``xp`` (numpy or CuPy), levels concatenated along the last axis (P = Σ ``level_lengths``):
    logits [R, K, P], offsets [R, K, 2, P] (left/right in strides), points [P, 4] (t, lo, hi, s), masks
    [R, P] bool or 0/1 (the row's video's valid points), query_mask [R, K] bool or 0/1 (padded queries never
    score).
    Each (row, level) is ``decode_level``: flat (t, k) order, stable top-k by score, duration filter.
    """
    num_rows, num_k, num_p = logits.shape
    prob = sigmoid(logits, xp) * masks[:, None, :].astype(np.float32)
    prob = prob.transpose(0, 2, 1)  # [R, P, K]: (point, query) order is the spec's flat (t, k) order
    flat = xp.flatnonzero((prob > np.float32(pre_nms_thresh)) & query_mask[:, None, :].astype(bool))
    row, rest = flat // (num_p * num_k), flat % (num_p * num_k)
    pt, cls = rest // num_k, rest % num_k
    score = prob[row, pt, cls]
    ends = xp.asarray(np.cumsum(level_lengths), dtype=np.int64)
    group = row * len(level_lengths) + xp.searchsorted(ends, pt, side="right")  # (row, level)
    order = stable_argsort(xp, group_score_key(xp, group, score))  # per group: score descending, stable
    order = order[rank_in_group(xp, group[order]) < int(pre_nms_topk)]
    row, pt, cls, score = row[order], pt[order], cls[order], score[order]
    t, s = points[pt, 0], points[pt, 3]
    segs = xp.stack([t - offsets[row, cls, 0, pt] * s, t + offsets[row, cls, 1, pt] * s], axis=-1).astype(np.float32)
    keep = (segs[:, 1] - segs[:, 0]) > duration_thresh
    return Candidates(segs[keep], score[keep], cls[keep].astype(np.int64), row[keep].astype(np.int64))


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
    return decode_video(
        [logits], [offsets], [points], [mask],
        pre_nms_thresh=pre_nms_thresh, pre_nms_topk=pre_nms_topk, duration_thresh=duration_thresh,
    )  # fmt: skip


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
    if not logits:
        return Segments.empty()
    c = decode_rows(
        np,
        np.concatenate([np.asarray(x, np.float32).T for x in logits], axis=1)[None],
        np.concatenate([np.asarray(x, np.float32).transpose(1, 2, 0) for x in offsets], axis=2)[None],
        np.concatenate([np.asarray(p, np.float32) for p in points]),
        np.concatenate([np.asarray(m, bool) for m in masks])[None],
        np.ones((1, logits[0].shape[1]), bool),
        [len(m) for m in masks],
        pre_nms_thresh=pre_nms_thresh,
        pre_nms_topk=pre_nms_topk,
        duration_thresh=duration_thresh,
    )
    return Segments(c.segments, c.scores, c.labels)


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
