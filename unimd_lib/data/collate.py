"""Collation of ``VideoQueries`` records into one padded ``Batch`` that may mix TAD and MR videos.

Padding follows the original model exactly, because BatchNorm in the neck sees padded positions and its
output leaks into valid ones near the end: training pads every video to ``max_seq_len``; inference pads to
``max_seq_len`` when shorter, else to the next multiple of ``divisor`` (the largest FPN stride, 32).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from unimd_lib.data.batch import Batch, TaskBatch
from unimd_lib.data.record import TASKS, TaskQueries, VideoQueries


def padded_length(lengths: Sequence[int], max_seq_len: int, *, training: bool, divisor: int = 32) -> int:
    """Length every video of a batch is padded to (see module docstring)."""
    longest = max(lengths)
    if training:
        if longest > max_seq_len:
            raise ValueError(f"training input of length {longest} exceeds max_seq_len={max_seq_len}; crop it first")
        return max_seq_len
    if longest <= max_seq_len:
        return max_seq_len
    return -(-longest // divisor) * divisor


def _task_batch(items: list[tuple[int, TaskQueries]]) -> TaskBatch:
    k_max = max(q.num_queries for _, q in items)
    emb_dim = items[0][1].embeddings.shape[1]
    queries = torch.zeros(len(items), k_max, emb_dim, dtype=torch.float32)
    query_mask = torch.zeros(len(items), k_max, dtype=torch.bool)
    for row, (_, q) in enumerate(items):
        queries[row, : q.num_queries] = torch.from_numpy(np.ascontiguousarray(q.embeddings, dtype=np.float32))
        query_mask[row, : q.num_queries] = True
    return TaskBatch(
        video_index=torch.tensor([i for i, _ in items], dtype=torch.long),
        queries=queries,
        query_mask=query_mask,
        segments=[torch.from_numpy(np.asarray(q.segments, dtype=np.float32).reshape(-1, 2)) for _, q in items],
        labels=[torch.from_numpy(np.asarray(q.labels, dtype=np.int64).reshape(-1)) for _, q in items],
        texts=[list(q.texts) for _, q in items],
        meta=[dict(q.meta) for _, q in items],
    )


def collate(records: Sequence[VideoQueries], *, max_seq_len: int, training: bool, divisor: int = 32) -> Batch:
    """Stack records into a zero-padded ``Batch``; each task's sub-batch holds only the videos carrying it."""
    if not records:
        raise ValueError("cannot collate an empty list of videos")
    length = padded_length([r.length for r in records], max_seq_len, training=training, divisor=divisor)
    channels = records[0].feats.shape[0]
    feats = torch.zeros(len(records), channels, length, dtype=torch.float32)
    mask = torch.zeros(len(records), length, dtype=torch.bool)
    for i, r in enumerate(records):
        if r.feats.shape[0] != channels:
            raise ValueError(f"video {r.video_id}: {r.feats.shape[0]} feature channels, batch has {channels}")
        feats[i, :, : r.length] = torch.from_numpy(np.ascontiguousarray(r.feats, dtype=np.float32))
        mask[i, : r.length] = True
    tasks = {}
    for name in TASKS:
        items = [(i, r.task(name)) for i, r in enumerate(records) if r.task(name) is not None]
        tasks[name] = _task_batch(items) if items else None
    return Batch(
        feats=feats,
        mask=mask,
        video_ids=[r.video_id for r in records],
        fps=[float(r.fps) for r in records],
        duration=[float(r.duration) for r in records],
        feat_stride=[float(r.feat_stride) for r in records],
        num_frames=[float(r.num_frames) for r in records],
        tad=tasks["tad"],
        mr=tasks["mr"],
    )
