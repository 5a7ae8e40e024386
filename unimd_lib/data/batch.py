"""Padded torch batches built from ``VideoQueries`` records (see ``data.collate``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class TaskBatch:
    """The videos of a batch that carry one task.

    ``video_index`` [Bt] — rows of ``Batch.feats`` these entries belong to.
    ``queries`` [Bt, K, E] — query embeddings, zero-padded to the largest K in the batch;
    ``query_mask`` [Bt, K] bool — True for real queries.
    ``segments`` / ``labels`` — per video, [G_i, 2] float32 grid units and [G_i] int64 query indices.
    ``texts`` / ``meta`` — per video, the query strings and per-query ids (for writing predictions).
    """

    video_index: torch.Tensor
    queries: torch.Tensor
    query_mask: torch.Tensor
    segments: list[torch.Tensor]
    labels: list[torch.Tensor]
    texts: list[list[str]] = field(default_factory=list)
    meta: list[dict] = field(default_factory=list)

    def to(self, device: torch.device | str) -> TaskBatch:
        return TaskBatch(
            self.video_index.to(device),
            self.queries.to(device),
            self.query_mask.to(device),
            [s.to(device) for s in self.segments],
            [lab.to(device) for lab in self.labels],
            self.texts,
            self.meta,
        )


@dataclass
class Batch:
    """``feats`` [B, C, T] zero-padded, ``mask`` [B, T] bool (True = valid step); per-video metadata lists."""

    feats: torch.Tensor
    mask: torch.Tensor
    video_ids: list[str]
    fps: list[float]
    duration: list[float]
    feat_stride: list[float]
    num_frames: list[float]
    tad: TaskBatch | None = None
    mr: TaskBatch | None = None

    def to(self, device: torch.device | str) -> Batch:
        return Batch(
            self.feats.to(device),
            self.mask.to(device),
            self.video_ids,
            self.fps,
            self.duration,
            self.feat_stride,
            self.num_frames,
            None if self.tad is None else self.tad.to(device),
            None if self.mr is None else self.mr.to(device),
        )
