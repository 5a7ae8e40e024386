"""Training-time random crop / truncation of one video (spec §6.1 step 7).

* T ≤ max_seq_len: crop length uniform in [max(round(lo·T), 1), min(round(hi·T), T)] (``crop_ratio``
  [lo, hi]); equal to T (or no ``crop_ratio``) → unchanged.
* T > max_seq_len: crop length = max_seq_len.
* Up to 200 trials: start uniform in [0, T − len]; every segment is clipped to [st − off, st + len + off]
  (off = the grid offset 0.5·num_frames/stride); a segment survives if clipped / original length ≥
  ``trunc_thresh``; the first window keeping ≥ 1 segment is taken, else the last trial.
* One common window for all tasks of the video (condition evaluated on their segments together); surviving
  segments are shifted by −st. Query lists and embeddings are never filtered: an MR query whose segment
  was dropped stays as an all-negative query. Zero-length segments always drop (0/0 is not ≥ thresh).
* A video without any segment is only cut down to max_seq_len if longer (the original never crops it
  because it never trains on it; cutting keeps the batch padding bounded).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from unimd_lib.data.record import TaskQueries, VideoQueries

MAX_TRIALS = 200


def crop_length(rng: np.random.Generator, length: int, max_seq_len: int, crop_ratio) -> int:
    """The window length drawn for a video of ``length`` steps (``length`` itself = no crop)."""
    if length > max_seq_len:
        return max_seq_len
    if crop_ratio is None:
        return length
    lo = max(round(crop_ratio[0] * length), 1)  # Python round (half to even), as the original
    hi = min(round(crop_ratio[1] * length), length)
    return int(rng.integers(lo, hi + 1))


def _overlap(segs: np.ndarray, st: float, ed: float, offset: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    left = np.maximum(segs[:, 0], st - offset)
    right = np.minimum(segs[:, 1], ed + offset)
    inter = np.clip(right - left, 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = inter / np.abs(segs[:, 1] - segs[:, 0])
    return left, right, ratio


def random_crop(
    video: VideoQueries,
    rng: np.random.Generator,
    *,
    max_seq_len: int,
    trunc_thresh: float,
    crop_ratio: tuple[float, float] | None,
) -> VideoQueries:
    """Return a cropped copy of ``video`` (or ``video`` itself when no crop is drawn)."""
    tasks = [(name, video.task(name)) for name in video.tasks]
    all_segs = [np.asarray(q.segments, np.float64).reshape(-1, 2) for _, q in tasks]
    segs = np.concatenate(all_segs) if all_segs else np.zeros((0, 2))
    n_steps = video.length
    offset = 0.5 * video.num_frames / video.feat_stride
    if len(segs) == 0:
        if n_steps <= max_seq_len:
            return video
        st = int(rng.integers(0, n_steps - max_seq_len + 1))
        return _apply(video, tasks, st, max_seq_len, offset, trunc_thresh)
    length = crop_length(rng, n_steps, max_seq_len, crop_ratio)
    if length == n_steps:
        return video
    for _ in range(MAX_TRIALS):
        st = int(rng.integers(0, n_steps - length + 1))
        _, _, ratio = _overlap(segs, st, st + length, offset)
        if np.count_nonzero(ratio >= trunc_thresh) > 0:
            break
    return _apply(video, tasks, st, length, offset, trunc_thresh)


def _apply(video: VideoQueries, tasks, st: int, length: int, offset: float, trunc_thresh: float) -> VideoQueries:
    out = {}
    for name, q in tasks:
        segs = np.asarray(q.segments, np.float64).reshape(-1, 2)
        left, right, ratio = _overlap(segs, st, st + length, offset)
        keep = ratio >= trunc_thresh
        new_segs = np.stack([left[keep], right[keep]], axis=1) - st
        out[name] = TaskQueries(
            embeddings=q.embeddings,
            texts=q.texts,
            segments=new_segs.astype(np.float32).reshape(-1, 2),
            labels=np.asarray(q.labels, np.int64)[keep],
            meta=q.meta,
        )
    feats = np.ascontiguousarray(video.feats[:, st : st + length])
    return replace(video, feats=feats, **out)
