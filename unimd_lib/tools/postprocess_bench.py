"""Post-processing benchmark of a trained run: CPU against GPU for NMS and evaluation, with equality checks.

The validation split's raw pre-NMS candidates (one forward per video, as ``predict_dataset`` runs the model) go
through NMS on every available path:

* ``numpy / per_video``: ``batched_nms`` once per video with the arguments ``model.predict`` uses (the reference);
* ``numpy / batch``: ``batched_nms_videos`` over the whole split in one call;
* ``cupy / per_video`` and ``cupy / batch`` (when CuPy finds a CUDA device): the same on the GPU; the batch call is
  one kernel launch for all videos x classes of the split.

Each path is timed (median of ``repeats`` runs after a warm-up run, which also compiles the CUDA kernel) and compared
with the reference: same selection (input rows), order and labels, segments and scores within ``1e-5``. The
reference results become prediction tables in seconds (the columns ``predict_dataset`` writes) and are scored with
every protocol the config names, on numpy and on CuPy, timed and checked for identical metrics (``eval_bench``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from unimd_lib.config.load import Config
from unimd_lib.config.model import TestConfig
from unimd_lib.post.decode import Segments, grid_to_seconds
from unimd_lib.tools.device_timing import GpuStatus, default_backends, gpu_status, timed
from unimd_lib.tools.eval_bench import EVAL_COLUMNS, assert_all_equal, evaluation_table, timing_by_case

Kept = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # segs [K, 2], scores [K], labels [K], input rows [K]
TOLERANCE = 1e-5


# ------------------------------------------------------------------------------------------------ candidates
@dataclass
class SplitCandidates:
    """Pre-NMS candidates (grid units) of a split. ``videos`` are the records without their features, in dataset
    order; ``candidates[task]`` holds ``(position in videos, Segments)`` for every video carrying the task."""

    videos: list
    candidates: dict[str, list[tuple[int, Segments]]]
    test_cfg: TestConfig
    per_video_cap: bool
    device: str
    seconds: float
    cfg: Config | None = None
    split: str | None = None

    def count(self, task: str) -> int:
        return int(sum(len(c.scores) for _, c in self.candidates[task]))


def collect_candidates(model, dataset, device, *, progress: bool = False, cfg: Config | None = None) -> SplitCandidates:
    """One forward per video (``predict_dataset``'s loop) and ``model.candidates``, kept on the host."""
    import torch
    from tqdm.auto import tqdm

    from unimd_lib.data.collate import collate
    from unimd_lib.train.runtime import eval_mode

    device = torch.device(device)
    videos: list = []
    cands: dict[str, list[tuple[int, Segments]]] = {t: [] for t in ("tad", "mr") if getattr(dataset, t) is not None}
    start = time.perf_counter()
    with torch.no_grad(), eval_mode(model):
        for index in tqdm(range(len(dataset)), desc="candidates", disable=not progress, leave=False):
            video = dataset[index]
            if not video.tasks:
                continue
            batch = collate([video], max_seq_len=dataset.cfg.max_seq_len, training=False).to(device)
            per_task = model.candidates(batch)[0]
            for task, c in per_task.items():
                cands[task].append((len(videos), c))
            videos.append(replace(video, feats=video.feats[:, :0]))  # ids, timing and queries; no features
    return SplitCandidates(
        videos,
        cands,
        model.cfg.test_cfg,
        bool(model.cfg.quirks.max_seg_num_per_video),
        str(device),
        time.perf_counter() - start,
        cfg,
        dataset.split,
    )


def candidates_from_run(
    run_dir: str | os.PathLike,
    *,
    split: str | None = None,
    checkpoint: str = "best",
    device: str = "auto",
    progress: bool = False,
) -> SplitCandidates:
    """Candidates of a trained run on ``split`` (default: its validation split) with its best or last EMA weights."""
    from unimd_lib.train.run_model import open_run

    trained = open_run(run_dir, checkpoint=checkpoint, device=device)
    return collect_candidates(trained.model, trained.dataset(split), trained.device, progress=progress, cfg=trained.cfg)


def notebook_run(
    *,
    config: str | os.PathLike | None = None,
    data_root: str | os.PathLike | None = None,
    synthetic_dir: str | os.PathLike = "../data/synthetic",
    run_root: str | os.PathLike = "../runs/notebooks",
    run_dir: str | os.PathLike | None = None,
    quick: bool = False,
    progress: bool = False,
) -> Path:
    """The run a notebook works on: ``run_dir`` when given (it must hold a finished run), else the config of the
    notebook parameters (``notebook_config``) trained or reused in ``run_root/<config name>-all`` (``-all-quick``
    for the quick model, so that a quick run never stands in for a full one)."""
    from unimd_lib.tools.notebook_support import notebook_config
    from unimd_lib.train.pipeline import finished, run_scheme

    if run_dir is not None:
        if finished(run_dir) is None:
            raise FileNotFoundError(f"{run_dir}: no finished run there (metrics.json missing)")
        return Path(run_dir)
    cfg = notebook_config(config, synthetic_dir=synthetic_dir, quick=quick, data_root=data_root)
    out = Path(run_root) / f"{cfg.name}-all{'-quick' if quick else ''}"
    run_scheme(cfg, out, task="all", progress=progress)
    return out


# ------------------------------------------------------------------------------------------------ NMS paths
def nms_kwargs(test_cfg: TestConfig, per_video_cap: bool, num_candidates: int) -> dict[str, Any]:
    """``batched_nms`` arguments of ``model.predict`` (``model.inference.nms``) for a video or batch whose largest
    video has ``num_candidates``; with the per-video cap switched off nothing is cut before the per-label cap."""
    return dict(
        iou_threshold=test_cfg.iou_threshold,
        min_score=test_cfg.min_score,
        max_seg_num=int(test_cfg.max_seg_num) if per_video_cap else max(int(num_candidates), 1),
        use_soft_nms=test_cfg.nms_method == "soft",
        multiclass=test_cfg.multiclass_nms,
        sigma=test_cfg.nms_sigma,
        voting_thresh=test_cfg.voting_thresh,
    )


def _unchanged(c: Segments) -> Kept:
    return (c.segments, c.scores, c.labels, np.arange(len(c.scores), dtype=np.int64))


def _cap_per_label(kept: Kept, cap: int) -> Kept:
    """The top ``cap`` of every label (``kept`` is sorted by score), as ``model.inference.nms`` does."""
    labels = kept[2]
    order = np.argsort(labels, kind="stable")
    first = np.searchsorted(labels[order], labels[order], side="left")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size) - first
    return tuple(a[rank < cap] for a in kept)  # type: ignore[return-value]


def _skip_nms(split: SplitCandidates) -> bool:
    return split.test_cfg.nms_method == "none"


def nms_per_video(split: SplitCandidates, task: str, backend: str = "numpy") -> list[Kept]:
    """One ``batched_nms`` call per video (``model.predict``'s path) on ``backend``."""
    from unimd_lib.post.nms import batched_nms

    out = []
    for _, c in split.candidates[task]:
        if _skip_nms(split) or c.scores.size == 0:
            out.append(_unchanged(c))
            continue
        kw = nms_kwargs(split.test_cfg, split.per_video_cap, c.scores.size)
        kept = batched_nms(c.segments, c.scores, c.labels, **kw, backend=backend, return_index=True)
        out.append(kept if split.per_video_cap else _cap_per_label(kept, int(split.test_cfg.max_seg_num)))
    return out


def nms_batch(split: SplitCandidates, task: str, backend: str = "numpy") -> list[Kept]:
    """``batched_nms_videos`` over the whole split in one call (one kernel launch on CuPy)."""
    from unimd_lib.post.nms import batched_nms_videos

    items = split.candidates[task]
    if _skip_nms(split) or not items:
        return [_unchanged(c) for _, c in items]
    largest = max(c.scores.size for _, c in items)
    kw = nms_kwargs(split.test_cfg, split.per_video_cap, largest)
    videos = [(c.segments, c.scores, c.labels) for _, c in items]
    out = batched_nms_videos(videos, **kw, backend=backend, return_index=True)
    if not split.per_video_cap:
        out = [_cap_per_label(k, int(split.test_cfg.max_seg_num)) for k in out]
    # an empty video is passed through unchanged by model.predict: its (empty) arrays keep their shapes
    return [_unchanged(c) if c.scores.size == 0 else k for (_, c), k in zip(items, out, strict=True)]


def kept_equal(got: Sequence[Kept], want: Sequence[Kept], tol: float = TOLERANCE) -> tuple[bool, float]:
    """(same selection, order and labels with segments and scores within ``tol``, largest value difference)."""
    if len(got) != len(want):
        return False, float("inf")
    ok, diff = True, 0.0
    for g, w in zip(got, want, strict=True):
        if len(g[1]) != len(w[1]) or not (np.array_equal(g[3], w[3]) and np.array_equal(g[2], w[2])):
            return False, float("inf")
        for a, b in ((g[0], w[0]), (g[1], w[1])):
            if a.size:
                d = np.abs(a.astype(np.float64) - b.astype(np.float64))
                diff = max(diff, float(d.max()))
                ok &= bool(np.all(d <= tol + tol * np.abs(b)))
    return ok, diff


# ------------------------------------------------------------------------------------------------ tables
def prediction_tables(split: SplitCandidates, kept: dict[str, list[Kept]]) -> dict[str, pd.DataFrame]:
    """NMS results → seconds (clamped to the duration) → the tables ``predict_dataset`` returns."""
    from unimd_lib.train.predict import MR_COLUMNS, TAD_COLUMNS, _frame, _rows

    out = {}
    for task, items in split.candidates.items():
        parts = []
        for (pos, _), (segs, scores, labels, _) in zip(items, kept[task], strict=True):
            v = split.videos[pos]
            secs = grid_to_seconds(
                segs, fps=float(v.fps), feat_stride=float(v.feat_stride), num_frames=float(v.num_frames),
                duration=float(v.duration),
            )  # fmt: skip
            parts.append(_rows(v, task, Segments(secs, scores, labels)))
        out[task] = _frame(parts, TAD_COLUMNS if task == "tad" else MR_COLUMNS)
    return out


def nms_table(
    split: SplitCandidates, *, repeats: int = 3, backends: Sequence[str] | None = None
) -> tuple[pd.DataFrame, dict[str, list[Kept]]]:
    """One row per (task, backend, API): videos, candidates, kept, median seconds, videos/s, speed-up over the
    numpy per-video reference, equality with it. Returns the table and the reference results."""
    backends = tuple(backends or default_backends())
    rows, reference = [], {}
    for task, items in split.candidates.items():
        ref_s = None
        for backend in backends:
            for api, fn in (("per_video", nms_per_video), ("batch", nms_batch)):
                warm = 1 if backend == "cupy" else 0  # the first CuPy call compiles the kernel

                def run(fn=fn, backend=backend, task=task):
                    return fn(split, task, backend)

                kept, seconds = timed(run, repeats, warmup=warm)
                if ref_s is None:
                    reference[task], ref_s = kept, seconds
                equal, diff = kept_equal(kept, reference[task])
                rows.append(dict(
                    task=task, backend=backend, api=api, videos=len(items), candidates=split.count(task),
                    kept=int(sum(len(k[1]) for k in kept)), seconds=seconds,
                    videos_per_s=len(items) / seconds if seconds > 0 else np.inf,
                    speedup=ref_s / seconds if seconds > 0 else np.inf, equal=equal, max_abs_diff=diff,
                ))  # fmt: skip
    return pd.DataFrame(rows), reference


# ------------------------------------------------------------------------------------------------ everything
@dataclass
class BenchResult:
    split: SplitCandidates
    nms: pd.DataFrame
    evaluation: pd.DataFrame
    predictions: dict[str, pd.DataFrame] = field(default_factory=dict)

    def summary(self) -> str:
        n = self.nms
        e = self.evaluation
        paths = ", ".join(f"{r.task} {r.backend}/{r.api}" for r in n.itertuples())
        cupy = e["equal"].notna().any()
        eval_note = f"metrics identical on numpy and CuPy: {bool(e['equal'].dropna().all())}" if cupy else (
            "metrics scored on numpy only")  # fmt: skip
        return (
            f"{len(self.split.videos)} videos ({self.split.split}), forward on {self.split.device} in "
            f"{self.split.seconds:.1f} s; NMS paths [{paths}] all equal to the reference: {bool(n['equal'].all())}; "
            f"{eval_note}"
        )


def run_bench(
    split: SplitCandidates, *, repeats: int = 3, backends: Sequence[str] | None = None, cfg: Config | None = None
) -> BenchResult:
    """NMS table, reference prediction tables and evaluation table of ``split`` (``cfg`` defaults to the run's)."""
    cfg = cfg or split.cfg
    if cfg is None:
        raise ValueError("no config to score with: pass cfg= (candidates collected without a run config)")
    nms, reference = nms_table(split, repeats=repeats, backends=backends)
    preds = prediction_tables(split, reference)
    evaluation = evaluation_table(cfg, preds, repeats=repeats, backends=backends, case=split.split or "run")
    return BenchResult(split, nms, evaluation, preds)


__all__ = [
    "EVAL_COLUMNS",
    "BenchResult",
    "GpuStatus",
    "SplitCandidates",
    "assert_all_equal",
    "candidates_from_run",
    "collect_candidates",
    "default_backends",
    "evaluation_table",
    "gpu_status",
    "kept_equal",
    "nms_batch",
    "nms_per_video",
    "nms_table",
    "notebook_run",
    "prediction_tables",
    "run_bench",
    "timed",
    "timing_by_case",
]
