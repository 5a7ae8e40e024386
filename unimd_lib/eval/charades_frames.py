"""Charades official per-frame localisation mAP (``Charades_v1_localize``; METRICS.md §2), from segments.

* Segments → frames (UniMD ``convert_result_to_charades``): frame ``i`` of a video sits at
  ``t_i = duration / 25 * i``; its class-``c`` score is the max score of the video's class-``c`` segments with
  ``start <= t_i <= end`` (compared in float32, the dtype of the segments), else 0.0.
* GT frames (official CSV): frame ``j`` sits at ``(j / 25) * length``; positive for class ``c`` when an action of
  ``c`` has ``start <= t <= end`` (float64).
* Per class: rank all frames by ``np.argsort(-conf)`` (numpy's default sort: QUIRK, the order of equal scores is
  numpy's, and it moves the mAP by ~1e-4 on segment-built scores), precision at each positive
  ``tp / (tp + fp)`` in float64, AP = (sequential sum of the precisions at the positives) / npos; a class with no
  positive frame gives NaN (and so a NaN mAP), as the original. ``mAP`` = mean AP; ``wAP`` = AP weighted by
  each class's positive-frame count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from unimd_lib.backend import get_xp
from unimd_lib.errors import DataError
from unimd_lib.eval import _xp
from unimd_lib.formats.charades_csv import CharadesTable

FRAMES_PER_VIDEO = 25
NUM_CLASSES = 157


@dataclass(frozen=True)
class FrameMAPResult:
    ap: np.ndarray  # [C], NaN for a class without positive frames
    num_positives: np.ndarray  # [C]
    mAP: float
    wAP: float

    def metrics(self) -> dict[str, float]:
        return {"mAP": float(self.mAP), "wAP": float(self.wAP)}


def frame_ids(video_ids, frames: int = FRAMES_PER_VIDEO) -> list[str]:
    """``<id>-<frame+1 zero-padded to 3>`` in video order, as the official evaluator names frames."""
    return [f"{v}-{j + 1:03d}" for v in video_ids for j in range(frames)]


def frame_scores_from_segments(
    video_ids,
    durations,
    predictions: pd.DataFrame,
    num_classes: int = NUM_CLASSES,
    frames: int = FRAMES_PER_VIDEO,
    backend: str = "numpy",
) -> np.ndarray:
    """float32 ``[len(video_ids) * frames, num_classes]`` frame scores (rows: video-major, frame 0..frames-1;
    stored class-major, i.e. column-contiguous, which is what the per-class ranking reads).

    ``predictions``: ``video_id, t_start, t_end, label, score`` (seconds, label = class 0..num_classes-1).
    Predictions on videos not in ``video_ids`` are ignored (the official evaluator only reads GT frames).
    """
    xp = get_xp(backend)
    video_ids = pd.Index(video_ids)
    V = len(video_ids)
    vid = video_ids.get_indexer(predictions["video_id"])
    inside = vid >= 0
    label = predictions["label"].to_numpy(np.int64)[inside]
    if len(label) and (label.min() < 0 or label.max() >= num_classes):
        bad = label[(label < 0) | (label >= num_classes)][0]
        raise DataError(None, f"label {bad}", f"Charades labels must be 0..{num_classes - 1}")
    times = np.asarray(durations, dtype=np.float64)[:, None] / frames * np.arange(frames)[None, :]
    t32 = xp.asarray(times.astype(np.float32))  # float32 segments against the frame time, as the original
    v = xp.asarray(vid[inside])
    s = xp.asarray(predictions["t_start"].to_numpy(np.float32)[inside])
    e = xp.asarray(predictions["t_end"].to_numpy(np.float32)[inside])
    tv = t32[v]
    n, f = xp.nonzero((s[:, None] <= tv) & (tv <= e[:, None]))
    out = xp.full(V * frames * num_classes, -np.inf, dtype=xp.float32)
    score = xp.asarray(predictions["score"].to_numpy(np.float64)[inside].astype(np.float32))
    flat = xp.asarray(label)[n] * (V * frames) + (v[n] * frames + f)  # class-major buffer
    _xp.scatter_max(xp, out, flat, score[n])
    out = xp.where(out == -np.inf, xp.float32(0.0), out)  # no covering segment: 0.0
    return _xp.host(out).reshape(num_classes, V * frames).T  # [F, C] view, column-contiguous per class


def frame_labels(table: CharadesTable, num_classes: int = NUM_CLASSES, frames: int = FRAMES_PER_VIDEO) -> np.ndarray:
    """bool ``[videos * frames, num_classes]``: GT positives of the official CSV, rows in CSV video order."""
    videos, actions = table.videos, table.actions
    V = len(videos)
    times = (np.arange(frames) / frames)[None, :] * videos["length"].to_numpy(np.float64)[:, None]
    vid = pd.Index(videos["video_id"]).get_indexer(actions["video_id"])
    label = actions["label_id"].to_numpy(np.int64)
    if len(label) and (label.min() < 0 or label.max() >= num_classes):
        raise DataError(table.path, None, f"action class outside c000..c{num_classes - 1:03d}")
    t = times[vid]
    a, f = np.nonzero((actions["t_start"].to_numpy()[:, None] <= t) & (t <= actions["t_end"].to_numpy()[:, None]))
    out = np.zeros((num_classes, V * frames), dtype=bool)
    out[label[a], vid[a] * frames + f] = True
    return out.T  # [F, C] view, column-contiguous per class


def align_frame_scores(
    video_ids, frames_table: pd.DataFrame, scores: np.ndarray, frames: int = FRAMES_PER_VIDEO
) -> tuple[np.ndarray, list[str]]:
    """Scores of a submitted frame-score file on the GT frames (video order of ``video_ids``), as the official
    evaluator reads them: frame id ``<id>-<frame+1:03d>``; a repeated id keeps its last line; a GT frame missing
    from the file gets ``-inf`` for every class (returned in the list of missing frame ids)."""
    gt_ids = pd.Index(frame_ids(video_ids, frames))
    sub_ids = frames_table["video_id"].astype(str) + "-" + (frames_table["frame"] + 1).map("{:03d}".format)
    last = ~sub_ids.duplicated(keep="last").to_numpy()
    src = pd.Index(sub_ids[last]).get_indexer(gt_ids)
    out = np.full((len(gt_ids), scores.shape[1]), -np.inf)
    found = src >= 0
    out[found] = scores[np.flatnonzero(last)[src[found]]]
    return out, list(gt_ids[~found])


def per_frame_map(scores: np.ndarray, labels: np.ndarray) -> FrameMAPResult:
    """Official per-frame AP of ``scores`` (``[F, C]``, float64; ``-inf`` for missing frames) against ``labels``.

    Host-only by design: the ranking must be numpy's own sort (tie order), and what follows it is O(positives).
    """
    neg = -np.asarray(scores, dtype=np.float64).T  # [C, F]: the original's `-conf`, one row per class
    order = np.argsort(neg, axis=1)  # QUIRK: numpy's default sort of each class's column, as the original
    positive = np.take_along_axis(np.ascontiguousarray(np.asarray(labels, dtype=bool).T), order, axis=1)
    c_idx, k_idx = np.nonzero(positive)  # per class, positives in rank order
    npos = np.bincount(c_idx, minlength=positive.shape[0])
    first = np.r_[0, np.cumsum(npos)[:-1]]
    ordinal = np.arange(len(c_idx)) - first[c_idx]
    prec = (ordinal + 1) / (k_idx + 1)  # tp / (tp + fp) at each positive, float64
    # the original adds the precisions one by one: a zero-padded row per class, cumsum left to right
    padded = np.zeros((len(npos), int(npos.max(initial=0)) + 1))
    padded[c_idx, ordinal] = prec
    with np.errstate(invalid="ignore", divide="ignore"):
        ap = np.cumsum(padded, axis=1)[:, -1] / npos  # 0/0 = NaN for a class without positives
        wap = np.sum(ap * npos) / np.sum(npos)
    return FrameMAPResult(ap, npos, float(np.mean(ap)), float(wap))


def charades_localize(
    table: CharadesTable,
    predictions: pd.DataFrame,
    backend: str = "numpy",
) -> FrameMAPResult:
    """UniMD's reported Charades number: segments → 25 frame scores per CSV video → official per-frame mAP."""
    videos = table.videos
    scores = frame_scores_from_segments(videos["video_id"], videos["length"], predictions, backend=backend)
    return per_frame_map(scores.astype(np.float64), frame_labels(table))
