"""From head outputs to candidates (pre-NMS, grid units) and detections (seconds), for a whole batch at once
(spec §8).

Every step runs on all videos of a batch together: decoding (``post.decode.decode_rows``), one NMS call per
task (``post.nms.nms_flat``), the per-label cap and grid → seconds. The head outputs reach the post-processing
array module through DLPack (``backend.from_torch``): on a GPU the candidates stay on the device and the CuPy
NMS kernel runs on them; on the CPU numpy reads the tensors' memory in place. Only the kept detections come to
the host.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from unimd_lib.backend import array_module_for, from_torch, to_numpy
from unimd_lib.config.model import TestConfig
from unimd_lib.post.decode import Candidates, Segments, decode_rows, grid_to_seconds
from unimd_lib.post.nms import FlatKept, cap_per_label, nms_flat, split_by_video

if TYPE_CHECKING:
    from unimd_lib.data.batch import Batch
    from unimd_lib.model.unimd import ModelOutput

TASKS = ("tad", "mr")


def flat_candidates(out: ModelOutput, test_cfg: TestConfig, xp: ModuleType) -> dict[str, Candidates]:
    """Per task the batch carries: decoded candidates of all its videos, flat ``xp`` arrays (``rows`` = the
    video's position in the batch)."""
    points = from_torch(torch.cat(out.points), xp)
    masks = from_torch(torch.cat(out.masks, dim=1).to(torch.uint8), xp)  # uint8: DLPack-safe on every version
    result = {}
    for task in TASKS:
        t_out = getattr(out, task)
        if t_out is None:
            continue
        video = from_torch(t_out.video_index.to(t_out.flat_logits.device), xp)
        c = decode_rows(
            xp,
            from_torch(t_out.flat_logits.float(), xp),
            from_torch(t_out.flat_offsets.float(), xp),
            points,
            masks[video],
            from_torch(t_out.query_mask.to(t_out.flat_logits.device, torch.uint8), xp),
            t_out.lengths,
            pre_nms_thresh=test_cfg.pre_nms_thresh,
            pre_nms_topk=int(test_cfg.pre_nms_topk),
            duration_thresh=test_cfg.duration_thresh,
        )
        result[task] = c._replace(rows=video[c.rows])
    return result


def nms_kwargs(test_cfg: TestConfig, per_video_cap: bool, num_candidates: int) -> dict[str, Any]:
    """``nms_flat`` / ``batched_nms`` arguments for videos whose largest holds ``num_candidates``; with the
    per-video cap switched off (quirk §11.8) nothing is cut before the per-label cap (``cap_per_label``)."""
    return dict(
        iou_threshold=test_cfg.iou_threshold,
        min_score=test_cfg.min_score,
        max_seg_num=int(test_cfg.max_seg_num) if per_video_cap else max(int(num_candidates), 1),
        use_soft_nms=test_cfg.nms_method == "soft",
        multiclass=test_cfg.multiclass_nms,
        sigma=test_cfg.nms_sigma,
        voting_thresh=test_cfg.voting_thresh,
    )


def nms(
    cands: Candidates, num_videos: int, test_cfg: TestConfig, *, per_video_cap: bool = True, backend: str = "auto"
) -> FlatKept:
    """(Soft-)NMS of every video's candidates in one call, grid units; ``per_video_cap=False``: ``max_seg_num``
    per label instead of per video. ``nms_method: none`` keeps the candidates as they are."""
    rows = to_numpy(cands.rows)
    if test_cfg.nms_method == "none" or len(rows) == 0:
        segs, scores, labels = (to_numpy(a) for a in cands[:3])
        return FlatKept(segs.reshape(-1, 2), scores, labels, rows, np.arange(len(rows), dtype=np.int64), num_videos)
    largest = int(np.bincount(rows).max())
    kept = nms_flat(
        cands.segments, cands.scores, cands.labels, cands.rows, num_videos=num_videos,
        **nms_kwargs(test_cfg, per_video_cap, largest), backend=backend,
    )  # fmt: skip
    if per_video_cap:
        return kept
    keep = cap_per_label(kept.video, kept.labels, int(test_cfg.max_seg_num))
    return kept.select(keep)


def to_seconds(
    kept: FlatKept,
    fps: Sequence[float],
    feat_stride: Sequence[float],
    num_frames: Sequence[float],
    duration: Sequence[float],
) -> FlatKept:
    """Grid units → seconds, clamped to each video's [0, duration] (spec §8.3); per-video timing sequences,
    indexed by ``kept.video``."""

    def per_item(values: Sequence[float]) -> np.ndarray:
        return np.asarray(values, np.float32)[kept.video][:, None]

    secs = grid_to_seconds(
        kept.segments, fps=per_item(fps), feat_stride=per_item(feat_stride), num_frames=per_item(num_frames),
        duration=per_item(duration),
    )  # fmt: skip
    return kept._replace(segments=secs.reshape(-1, 2))


def _batch_seconds(kept: FlatKept, batch: Batch) -> FlatKept:
    return to_seconds(kept, batch.fps, batch.feat_stride, batch.num_frames, batch.duration)


def flat_detections(
    out: ModelOutput, batch: Batch, test_cfg: TestConfig, *, per_video_cap: bool = True, backend: str = "auto"
) -> dict[str, FlatKept]:
    """Per task: the detections of all videos of the batch, flat, in seconds (``video`` = batch position)."""
    xp = array_module_for(out.points[0], backend)
    cands = flat_candidates(out, test_cfg, xp)
    on = "numpy" if xp is np else "cupy"  # NMS where the candidates are
    num_videos = len(batch.video_ids)
    return {
        task: _batch_seconds(nms(c, num_videos, test_cfg, per_video_cap=per_video_cap, backend=on), batch)
        for task, c in cands.items()
    }


# ---------------------------------------------------------------------------------------- per-video views
def candidates(out: ModelOutput, batch: Batch, test_cfg: TestConfig) -> list[dict[str, Segments]]:
    """Per video of the batch, per task it carries: decoded candidates in grid units (before NMS), numpy."""
    flat = flat_candidates(out, test_cfg, np)
    return per_video({t: (c.segments, c.scores, c.labels, c.rows) for t, c in flat.items()}, batch)


def detections(
    cands: list[dict[str, Segments]], batch: Batch, test_cfg: TestConfig, *, per_video_cap: bool = True
) -> list[dict[str, Segments]]:
    """NMS then grid → seconds clamped to [0, duration], per video and task, from per-video candidates."""
    flat = {}
    for task in TASKS:
        items = [(i, c[task]) for i, c in enumerate(cands) if task in c]
        if not items:
            continue
        joined = [np.concatenate([c[f] for _, c in items]) for f in range(3)]
        rows = np.repeat([i for i, _ in items], [len(c.scores) for _, c in items]).astype(np.int64)
        kept = nms(Candidates(joined[0].reshape(-1, 2), *joined[1:], rows), len(cands), test_cfg,
                   per_video_cap=per_video_cap)  # fmt: skip
        flat[task] = _batch_seconds(kept, batch)
    return per_video({t: (k.segments, k.scores, k.labels, k.video) for t, k in flat.items()}, batch)


def per_video(flat: dict[str, tuple[Any, ...]], batch: Batch) -> list[dict[str, Segments]]:
    """Split flat (segments, scores, labels, video) per task into one ``Segments`` per video carrying it."""
    result: list[dict[str, Segments]] = [{} for _ in batch.video_ids]
    for task, arrays in flat.items():
        segs, scores, labels, video = (to_numpy(a) for a in arrays)
        parts = split_by_video(video, len(result), segs.reshape(-1, 2), scores, labels)
        for i in getattr(batch, task).video_index.tolist():
            result[i][task] = Segments(*parts[i])
    return result
