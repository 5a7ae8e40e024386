"""Post-processing benchmark of a trained run: CPU against GPU for NMS and evaluation, with equality checks.

The validation split's raw pre-NMS candidates (the batches and forward passes of ``predict_dataset``) go through
NMS on every available path, all through ``model.inference.nms`` (the NMS step of prediction):

* ``numpy / per_video``: one call per video (the reference);
* ``numpy / batch``: the whole split in one call, as ``predict_dataset`` runs a batch;
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

import numpy as np
import pandas as pd

from benchmarks.device_timing import GpuStatus, default_backends, gpu_status, timed
from benchmarks.eval_bench import EVAL_COLUMNS, assert_all_equal, evaluation_table, timing_by_case
from unimd_lib.config.load import Config
from unimd_lib.config.model import TestConfig
from unimd_lib.model.inference import flat_candidates, nms, to_seconds
from unimd_lib.post.decode import Candidates
from unimd_lib.post.nms import FlatKept
from unimd_lib.train.predict import BATCH_SIZE, MR_COLUMNS, TAD_COLUMNS, detection_columns, table, video_batches

TOLERANCE = 1e-5


# ------------------------------------------------------------------------------------------------ candidates
@dataclass
class SplitCandidates:
    """Pre-NMS candidates (grid units) of a split. ``videos`` are the records without their features, in dataset
    order; ``candidates[task]`` holds the flat candidates of every video carrying the task (``rows`` = position
    in ``videos``), on the host."""

    videos: list
    candidates: dict[str, Candidates]
    test_cfg: TestConfig
    per_video_cap: bool
    device: str
    seconds: float
    cfg: Config | None = None
    split: str | None = None

    def count(self, task: str) -> int:
        return int(len(self.candidates[task].scores))

    def carriers(self, task: str) -> list[int]:
        """Positions in ``videos`` of the videos carrying ``task``."""
        return [i for i, v in enumerate(self.videos) if v.task(task) is not None]


def collect_candidates(
    model, dataset, device, *, progress: bool = False, cfg: Config | None = None, batch_size: int = BATCH_SIZE
) -> SplitCandidates:
    """``predict_dataset``'s batches and forward passes, stopped before NMS: the candidates, kept on the host."""
    import torch
    from tqdm.auto import tqdm

    from unimd_lib.data.collate import collate
    from unimd_lib.train.runtime import eval_mode

    device = torch.device(device)
    videos: list = []
    parts: dict[str, list[Candidates]] = {t: [] for t in ("tad", "mr") if getattr(dataset, t) is not None}
    start = time.perf_counter()
    with torch.inference_mode(), eval_mode(model), tqdm(total=len(dataset), desc="candidates", disable=not progress,
                                                        leave=False) as bar:  # fmt: skip
        for batch_videos in video_batches(dataset, batch_size):
            batch = collate(batch_videos, max_seq_len=dataset.cfg.max_seq_len, training=False).to(device)
            for task, c in flat_candidates(model(batch), model.cfg.test_cfg, np).items():
                parts[task].append(c._replace(rows=c.rows + len(videos)))
            videos += [replace(v, feats=v.feats[:, :0]) for v in batch_videos]  # ids, timing, queries; no features
            bar.update(len(batch_videos))
    cands = {t: Candidates(*(np.concatenate([c[f] for c in p]) for f in range(4))) if p else _no_candidates()
             for t, p in parts.items()}  # fmt: skip
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


def _no_candidates() -> Candidates:
    return Candidates(
        np.zeros((0, 2), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64)
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


# ------------------------------------------------------------------------------------------------ NMS paths
def nms_per_video(split: SplitCandidates, task: str, backend: str = "numpy") -> FlatKept:
    """One NMS call per video (as prediction ran before batching) on ``backend``."""
    c = split.candidates[task]
    bounds = np.searchsorted(c.rows, np.arange(len(split.videos) + 1))
    kept = []
    for v in split.carriers(task):
        lo, hi = int(bounds[v]), int(bounds[v + 1])
        k = nms(Candidates(*(a[lo:hi] for a in c)), len(split.videos), split.test_cfg,
                per_video_cap=split.per_video_cap, backend=backend)  # fmt: skip
        kept.append(k._replace(source=k.source + lo))
    if not kept:
        return nms(c, len(split.videos), split.test_cfg, backend=backend)
    return FlatKept(*(np.concatenate([k[f] for k in kept]) for f in range(5)), len(split.videos))


def nms_batch(split: SplitCandidates, task: str, backend: str = "numpy") -> FlatKept:
    """The whole split in one NMS call (one kernel launch on CuPy): ``predict_dataset``'s NMS step."""
    return nms(split.candidates[task], len(split.videos), split.test_cfg, per_video_cap=split.per_video_cap,
               backend=backend)  # fmt: skip


def kept_equal(got: FlatKept, want: FlatKept, tol: float = TOLERANCE) -> tuple[bool, float]:
    """(same selection, order and labels with segments and scores within ``tol``, largest value difference)."""
    same = len(got.scores) == len(want.scores) and all(
        np.array_equal(getattr(got, f), getattr(want, f)) for f in ("video", "source", "labels")
    )
    if not same:
        return False, float("inf")
    ok, diff = True, 0.0
    for a, b in ((got.segments, want.segments), (got.scores, want.scores)):
        if a.size:
            d = np.abs(a.astype(np.float64) - b.astype(np.float64))
            diff = max(diff, float(d.max()))
            ok &= bool(np.all(d <= tol + tol * np.abs(b)))
    return ok, diff


# ------------------------------------------------------------------------------------------------ tables
def prediction_tables(split: SplitCandidates, kept: dict[str, FlatKept]) -> dict[str, pd.DataFrame]:
    """NMS results → seconds (clamped to the duration) → the tables ``predict_dataset`` returns."""
    v = split.videos
    out = {}
    for task in split.candidates:
        secs = to_seconds(kept[task], [x.fps for x in v], [x.feat_stride for x in v], [x.num_frames for x in v],
                          [x.duration for x in v])  # fmt: skip
        out[task] = table([detection_columns(v, task, secs)], TAD_COLUMNS if task == "tad" else MR_COLUMNS)
    return out


def nms_table(
    split: SplitCandidates, *, repeats: int = 3, backends: Sequence[str] | None = None
) -> tuple[pd.DataFrame, dict[str, FlatKept]]:
    """One row per (task, backend, API): videos, candidates, kept, median seconds, videos/s, speed-up over the
    numpy per-video reference, equality with it. Returns the table and the reference results."""
    backends = tuple(backends or default_backends())
    rows: list[dict] = []
    reference: dict[str, FlatKept] = {}
    for task in split.candidates:
        n_videos = len(split.carriers(task))
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
                    task=task, backend=backend, api=api, videos=n_videos, candidates=split.count(task),
                    kept=len(kept.scores), seconds=seconds,
                    videos_per_s=n_videos / seconds if seconds > 0 else np.inf,
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
    "prediction_tables",
    "run_bench",
    "timed",
    "timing_by_case",
]
