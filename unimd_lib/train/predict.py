"""Run a model over a dataset (batches of videos, each padded as the original pads it) and collect detections
as prediction tables in the formats ``unimd evaluate`` reads (times in seconds):

* TAD: ``video_id, t_start, t_end, label, score``
* MR:  ``video_id, query_index, t_start, t_end, score`` plus per-query ids the benchmark has
  (Ego4D NLQ: ``annotation_uid, annotation_idx``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from unimd_lib.data.collate import collate
from unimd_lib.data.dataset import VideoDataset
from unimd_lib.data.record import VideoQueries
from unimd_lib.formats.files import atomic_path
from unimd_lib.model.unimd import UniMD
from unimd_lib.model.windows import fits_single_pass, predict_windows
from unimd_lib.post.nms import FlatKept
from unimd_lib.train.run_dir import RunDir
from unimd_lib.train.runtime import autocast, eval_mode

TAD_COLUMNS = ("video_id", "t_start", "t_end", "label", "score")
MR_COLUMNS = ("video_id", "query_index", "t_start", "t_end", "score")
MR_IDS = ("annotation_uid", "annotation_idx")  # per-query ids some benchmarks need in their submission
BATCH_SIZE = 8


def detection_columns(videos: Sequence[VideoQueries], task: str, kept: FlatKept) -> dict[str, np.ndarray]:
    """The table columns of a batch's detections of ``task`` (``kept.video`` = position in ``videos``)."""
    n = len(kept.scores)
    cols = {
        "video_id": np.asarray([v.video_id for v in videos], dtype=object)[kept.video],
        "t_start": kept.segments[:, 0].astype(np.float32),
        "t_end": kept.segments[:, 1].astype(np.float32),
        "score": kept.scores.astype(np.float32),
    }
    labels = kept.labels.astype(np.int64)
    if task == "tad":
        cols["label"] = labels
        return cols
    cols["query_index"] = labels
    carriers = [i for i, v in enumerate(videos) if v.mr is not None]
    first = np.zeros(len(videos), np.int64)  # each video's first row in the batch's concatenated query ids
    first[carriers] = np.cumsum([0] + [v.mr.num_queries for v in (videos[i] for i in carriers)])[:-1]
    for key in MR_IDS:
        if any(key in videos[i].mr.meta for i in carriers):
            ids = np.concatenate([np.asarray(videos[i].mr.meta[key], dtype=object) for i in carriers])
            cols[key] = ids[first[kept.video] + labels] if n else np.zeros(0, dtype=object)
    return cols


def table(parts: list[dict[str, np.ndarray]], columns: tuple[str, ...]) -> pd.DataFrame:
    """Column dicts of ``detection_columns`` as one prediction table (ids as int64)."""
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object if c == "video_id" else np.float32) for c in columns})
    keys = list(columns) + [k for k in parts[0] if k not in columns]
    df = pd.DataFrame({k: np.concatenate([p[k] for p in parts]) for k in keys})
    for key in ("label", "query_index", "annotation_idx"):
        if key in df:
            df[key] = df[key].astype(np.int64)
    return df


def video_batches(dataset: VideoDataset, batch_size: int) -> Iterator[list[VideoQueries]]:
    """The dataset's videos that carry a task, in dataset order, in batches of up to ``batch_size``. A video
    longer than ``max_seq_len`` pads to its own length (``data.collate``), so it forms a batch of its own."""
    pending: list[VideoQueries] = []
    for index in range(len(dataset)):
        video = dataset[index]
        if not video.tasks:
            continue
        if video.length > dataset.cfg.max_seq_len:  # a batch of its own (windowed if it does not fit)
            if pending:
                yield pending
                pending = []
            yield [video]
            continue
        pending.append(video)
        if len(pending) == batch_size:
            yield pending
            pending = []
    if pending:
        yield pending


def predict_dataset(
    model: UniMD,
    dataset: VideoDataset,
    device: torch.device,
    *,
    batch_size: int = BATCH_SIZE,
    amp: str = "none",
    backend: str = "auto",
    progress: bool = True,
    desc: str = "predict",
) -> dict[str, pd.DataFrame]:
    """Detections of every video of ``dataset`` for every task it carries, as one table per task.

    Videos go through the model ``batch_size`` at a time (each padded as the original pads it alone, so the
    detections equal one-video-at-a-time prediction), decoding and NMS run on the whole batch (``UniMD.detect``),
    and ``amp`` (``none`` / ``bf16`` / ``fp16``) sets the autocast of the forward pass.
    """
    parts: dict[str, list] = {"tad": [], "mr": []}
    max_seq_len = dataset.cfg.max_seq_len
    with eval_mode(model), torch.inference_mode(), tqdm(
        total=len(dataset), desc=desc, disable=not progress, leave=False, unit="video"
    ) as bar:  # fmt: skip
        for videos in video_batches(dataset, batch_size):
            if len(videos) == 1 and not fits_single_pass(model, videos[0].length, max_seq_len):
                dets = _windowed(model, videos[0], max_seq_len, device, amp)
            else:
                batch = collate(videos, max_seq_len=max_seq_len, training=False).to(device)
                with autocast(device, amp):
                    dets = model.detect(batch, backend=backend)
            for task, kept in dets.items():
                parts[task].append(detection_columns(videos, task, kept))
            bar.update(len(videos))
    out = {}
    if dataset.tad is not None:
        out["tad"] = table(parts["tad"], TAD_COLUMNS)
    if dataset.mr is not None:
        out["mr"] = table(parts["mr"], MR_COLUMNS)
    return out


def _windowed(model: UniMD, video: VideoQueries, max_seq_len: int, device, amp: str) -> dict[str, FlatKept]:
    """A video longer than single-pass inference takes: overlapping windows (``model.windows``), as flat
    detections of a one-video batch."""
    with autocast(device, amp):
        dets = predict_windows(model, video, max_seq_len=max_seq_len, device=device)
    out = {}
    for task, d in dets.items():
        n = len(d.scores)
        out[task] = FlatKept(d.segments, d.scores, d.labels, np.zeros(n, np.int64), np.arange(n, dtype=np.int64), 1)
    return out


def predict_run(
    run_dir,
    split: str | None = None,
    *,
    checkpoint: str = "best",
    device: str = "auto",
    batch_size: int = BATCH_SIZE,
    amp: str = "none",
    progress: bool = True,
    write: bool = True,
) -> dict[str, pd.DataFrame]:
    """Predictions of a trained run on ``split`` (default: the validation split) with its ``best`` or ``last``
    EMA weights; written to ``RUN/predictions/<split>_<task>.csv`` when ``write``. ``amp``: autocast of the
    forward pass (``bf16`` / ``fp16``; default float32)."""
    from unimd_lib.train.run_model import open_run

    trained = open_run(run_dir, checkpoint=checkpoint, device=device)
    dataset = trained.dataset(split)
    preds = predict_dataset(
        trained.model, dataset, trained.device, batch_size=batch_size, amp=amp, progress=progress,
        desc=f"predict {dataset.split}",
    )  # fmt: skip
    if write:
        for task, df in preds.items():
            write_predictions(df, RunDir(run_dir).prediction_file(dataset.split, task))
    return preds


def write_predictions(df: pd.DataFrame, path) -> None:
    """A prediction table as CSV, atomically (float32 values written exactly)."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format="%.9g")
