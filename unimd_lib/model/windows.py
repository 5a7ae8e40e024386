"""Inference over videos of any length: overlapping windows of ``window`` steps every ``stride`` steps, each
run through the model as a video of its own; every window keeps the candidates of the points it *owns*
(from the middle of its overlap with the previous window to the middle of its overlap with the next), so
every point is scored once, with context on both sides; candidates are shifted back to video time and merged
with the same NMS as single-pass inference, a few windows at a time. A video that fits one window gives exactly
the single-pass result. Activations are bounded by ``batch_size`` windows and candidates by a block of windows,
whatever the video's length; time grows linearly with it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import torch

from unimd_lib.data.collate import collate, padded_length
from unimd_lib.data.record import TaskQueries, VideoQueries
from unimd_lib.errors import ConfigError
from unimd_lib.model import inference
from unimd_lib.post.decode import Candidates, Segments, grid_to_seconds


def window_starts(length: int, window: int, stride: int) -> list[int]:
    """Start of each window; the last one ends at the video's end (one window when the video fits)."""
    if not 1 <= stride <= window:
        raise ConfigError(None, "window stride", f"must be in [1, window={window}], got {stride}")
    if length <= window:
        return [0]
    starts = list(range(0, length - window, stride))
    return [*starts, length - window]


def owned_ranges(starts: list[int], window: int) -> list[tuple[float, float]]:
    """The points (video grid units) each window answers for: cut at the middle of each overlap."""
    cuts = [(b + a + window) / 2 for a, b in zip(starts[:-1], starts[1:])]
    return list(zip([-math.inf, *cuts], [*cuts, math.inf]))


def fits_single_pass(model, length: int, max_seq_len: int) -> bool:
    """Whether single-pass inference can take ``length`` steps (the model's point buffer bounds it)."""
    return padded_length([length], max_seq_len, training=False) <= (model.points.buffer_len)


def _without_ground_truth(task: TaskQueries | None) -> TaskQueries | None:
    if task is None:
        return None
    empty = np.zeros((0, 2), np.float32), np.zeros(0, np.int64)
    return TaskQueries(task.embeddings, task.texts, *empty, task.meta)


@torch.no_grad()
def window_candidates(
    model, video: VideoQueries, *, window: int, stride: int, max_seq_len: int, batch_size: int, device
) -> Iterator[tuple[int, dict[str, Segments]]]:
    """Per window, in order: (index, per task its owned candidates shifted to video grid units, before NMS)."""
    starts = window_starts(video.length, window, stride)
    owned = owned_ranges(starts, window)
    bare = replace(video, tad=_without_ground_truth(video.tad), mr=_without_ground_truth(video.mr))
    for first in range(0, len(starts), batch_size):
        chunk = list(range(first, min(first + batch_size, len(starts))))
        pieces = [replace(bare, feats=video.feats[:, starts[i] : starts[i] + window]) for i in chunk]
        batch = collate(pieces, max_seq_len=max_seq_len, training=False)
        result = model(batch.to(device))
        for level, pts in enumerate(result.points):
            t = pts[:, 0]
            keep = torch.stack([(t + starts[i] >= owned[i][0]) & (t + starts[i] < owned[i][1]) for i in chunk])
            result.masks[level] = result.masks[level] & keep
        for row, per_task in enumerate(inference.candidates(result, batch, model.cfg.test_cfg)):
            shift = np.float32(starts[chunk[row]])
            yield chunk[row], {t: Segments(c.segments + shift, c.scores, c.labels) for t, c in per_task.items()}


def _concat(parts: list[Segments]) -> Segments:
    return Segments(*(np.concatenate(x) for x in zip(*parts, strict=True))) if parts else Segments.empty()


def _top(dets: Segments, cap: int) -> Segments:
    order = np.argsort(-dets.scores, kind="stable")[:cap]
    return Segments(dets.segments[order], dets.scores[order], dets.labels[order])


def _nms(cands: Segments, test_cfg, per_video_cap: bool) -> Segments:
    """The prediction path's NMS on one video's candidates (grid units)."""
    rows = np.zeros(len(cands.scores), np.int64)
    kept = inference.nms(Candidates(cands.segments.reshape(-1, 2), cands.scores, cands.labels, rows), 1, test_cfg,
                         per_video_cap=per_video_cap, backend="numpy")  # fmt: skip
    return Segments(kept.segments, kept.scores, kept.labels)


@torch.no_grad()
def predict_windows(
    model,
    video: VideoQueries,
    *,
    window: int | None = None,
    stride: int | None = None,
    max_seq_len: int | None = None,
    batch_size: int = 4,
    block: int = 8,
    device: torch.device | str | None = None,
) -> dict[str, Segments]:
    """Detections (seconds) of one video of any length, per task it carries. ``window`` defaults to the
    model's ``max_seq_len`` (the length it was trained on), ``stride`` to half a window.

    Merging: the same NMS, run over ``block`` windows at a time plus one window of context on each side, keeping
    what falls (by its centre) in the block; so time and memory grow linearly with the video (a video of at
    most ``block`` windows is merged in one NMS). ``max_seg_num`` is scaled by the video's length in windows.
    Call in eval mode."""
    max_seq_len = max_seq_len or model.cfg.max_seq_len
    window = window or max_seq_len
    stride = stride or max(1, window // 2)
    device = device or next(model.parameters()).device
    starts = window_starts(video.length, window, stride)
    owned = owned_ranges(starts, window)
    n = len(starts)
    test_cfg = model.cfg.test_cfg
    per_video = model.cfg.quirks.max_seg_num_per_video
    cap = int(test_cfg.max_seg_num)
    if n > 1:  # the cap is meant for a video of one window: a longer one keeps as many per window length
        cap *= math.ceil(video.length / window)
        test_cfg = replace(test_cfg, max_seg_num=cap)
    stream = window_candidates(
        model, video, window=window, stride=stride, max_seq_len=max_seq_len, batch_size=batch_size, device=device
    )
    cache: dict[int, dict[str, Segments]] = {}
    kept: dict[str, list[Segments]] = {task: [] for task in video.tasks}
    for first in range(0, n, block):
        last = min(first + block, n)  # block = windows [first, last), merged with one window of context
        while len(cache) == 0 or max(cache) < min(last, n - 1):
            i, cands = next(stream)
            cache[i] = cands
        lo, hi = owned[first][0], owned[last - 1][1]
        for task in kept:
            merged = _concat([cache[i][task] for i in range(max(first - 1, 0), min(last + 1, n)) if i in cache])
            out = _nms(merged, test_cfg, per_video)
            if n > block:
                centre = out.segments.mean(axis=1)
                inside = (centre >= lo) & (centre < hi)
                out = Segments(out.segments[inside], out.scores[inside], out.labels[inside])
            kept[task].append(out)
        for i in [i for i in cache if i < last - 1]:
            del cache[i]
    dets = {}
    for task, parts in kept.items():
        merged = _concat(parts)
        if per_video and n > block:
            merged = _top(merged, cap)
        secs = grid_to_seconds(
            merged.segments, fps=video.fps, feat_stride=video.feat_stride, num_frames=video.num_frames,
            duration=video.duration,
        )  # fmt: skip
        dets[task] = Segments(secs, merged.scores, merged.labels)
    return dets
