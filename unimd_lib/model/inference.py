"""From head outputs to per-video candidates (pre-NMS, grid units) and detections (seconds), spec §8."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from unimd_lib.config.model import TestConfig
from unimd_lib.post import batched_nms
from unimd_lib.post.decode import Segments, decode_video, grid_to_seconds

if TYPE_CHECKING:
    from unimd_lib.data.batch import Batch
    from unimd_lib.model.unimd import ModelOutput


def candidates(out: ModelOutput, batch: Batch, test_cfg: TestConfig) -> list[dict[str, Segments]]:
    """Per video of the batch, per task it carries: decoded candidates in grid units (before NMS)."""
    result: list[dict[str, Segments]] = [{} for _ in range(len(batch.video_ids))]
    points = [p.detach().cpu().numpy() for p in out.points]
    masks = [m.detach().cpu().numpy() for m in out.masks]
    for task in ("tad", "mr"):
        t_out = getattr(out, task)
        if t_out is None:
            continue
        logits = [x.detach().float().cpu().numpy() for x in t_out.cls_logits]
        offsets = [x.detach().float().cpu().numpy() for x in t_out.offsets]
        n_queries = t_out.query_mask.sum(dim=1).tolist()
        for row, vid in enumerate(t_out.video_index.tolist()):
            k = int(n_queries[row])
            result[vid][task] = decode_video(
                [lg[row, :k].T for lg in logits],
                [off[row, :k].transpose(2, 0, 1) for off in offsets],
                points,
                [m[vid] for m in masks],
                pre_nms_thresh=test_cfg.pre_nms_thresh,
                pre_nms_topk=int(test_cfg.pre_nms_topk),
                duration_thresh=test_cfg.duration_thresh,
            )
    return result


def nms(cands: Segments, test_cfg: TestConfig, *, per_video_cap: bool = True) -> Segments:
    """Batched (soft-)NMS of one video/task, grid units. ``per_video_cap=False``: ``max_seg_num`` per label."""
    if test_cfg.nms_method == "none" or cands.scores.size == 0:
        return cands
    cap = int(test_cfg.max_seg_num)
    segs, scores, labels = batched_nms(
        cands.segments,
        cands.scores,
        cands.labels,
        iou_threshold=test_cfg.iou_threshold,
        min_score=test_cfg.min_score,
        # per-label cap (quirk §11.8 off): no global cut here, each label trimmed to ``cap`` below
        max_seg_num=cap if per_video_cap else max(cands.scores.size, 1),
        use_soft_nms=test_cfg.nms_method == "soft",
        multiclass=test_cfg.multiclass_nms,
        sigma=test_cfg.nms_sigma,
        voting_thresh=test_cfg.voting_thresh,
    )
    out = Segments(np.asarray(segs, np.float32), np.asarray(scores, np.float32), np.asarray(labels, np.int64))
    if not per_video_cap:  # keep the top ``cap`` of every label (the output is sorted by score)
        order = np.argsort(out.labels, kind="stable")
        sorted_labels = out.labels[order]
        first = np.searchsorted(sorted_labels, sorted_labels, side="left")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size) - first
        keep = rank < cap
        out = Segments(out.segments[keep], out.scores[keep], out.labels[keep])
    return out


def detections(
    cands: list[dict[str, Segments]], batch: Batch, test_cfg: TestConfig, *, per_video_cap: bool = True
) -> list[dict[str, Segments]]:
    """NMS then grid → seconds clamped to [0, duration], per video and task."""
    result = []
    for i, per_task in enumerate(cands):
        video = {}
        for task, c in per_task.items():
            kept = nms(c, test_cfg, per_video_cap=per_video_cap)
            secs = grid_to_seconds(
                kept.segments,
                fps=batch.fps[i],
                feat_stride=batch.feat_stride[i],
                num_frames=batch.num_frames[i],
                duration=batch.duration[i],
            )
            video[task] = Segments(secs, kept.scores, kept.labels)
        result.append(video)
    return result
