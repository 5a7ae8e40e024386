"""The one record every benchmark adapter produces, for both tasks.

A video carries features on the feature grid and, per task, a list of queries: action-class names for TAD
(the benchmark's whole vocabulary, shared by all videos) or sentences for MR (this video's own). Each query
has a text embedding; ground-truth segments point at their query through ``labels``.
All arrays are numpy here; ``data.collate`` turns a list of records into torch tensors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

TASKS = ("tad", "mr")


@dataclass
class TaskQueries:
    """One task's queries and ground truth in one video.

    ``embeddings`` [K, E] float32 — row k is query k (TAD: class k; MR: the video's k-th sentence).
    ``texts`` [K] — class names or sentences. ``segments`` [G, 2] float32 in *grid units* (may be empty);
    ``labels`` [G] int64 — the query index of each segment (TAD: class id; MR: sentence position).
    ``meta`` holds benchmark-specific per-query ids (e.g. Ego4D ``annotation_uid`` / ``annotation_idx``).
    """

    embeddings: np.ndarray
    texts: list[str]
    segments: np.ndarray
    labels: np.ndarray
    meta: dict[str, list] = field(default_factory=dict)

    @property
    def num_queries(self) -> int:
        return int(self.embeddings.shape[0])


@dataclass
class VideoQueries:
    """One video: features [C, T] float32 on the grid plus its TAD and/or MR queries.

    Grid ↔ seconds: ``t_sec = (g * feat_stride + 0.5 * num_frames) / fps`` (see ``formats.grid``).
    ``feat_stride`` is the effective stride after any down-sampling.
    """

    video_id: str
    feats: np.ndarray
    fps: float
    duration: float
    feat_stride: float
    num_frames: float
    tad: TaskQueries | None = None
    mr: TaskQueries | None = None

    @property
    def length(self) -> int:
        return int(self.feats.shape[1])

    def task(self, name: str) -> TaskQueries | None:
        if name not in TASKS:
            raise KeyError(f"unknown task {name!r}; expected one of {TASKS}")
        return getattr(self, name)

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(t for t in TASKS if getattr(self, t) is not None)
