"""Run a model over a dataset (one video per forward, as the original evaluates) and collect detections
as prediction tables in the formats ``unimd evaluate`` reads (times in seconds):

* TAD: ``video_id, t_start, t_end, label, score``
* MR:  ``video_id, query_index, t_start, t_end, score`` plus per-query ids the benchmark has
  (Ego4D NLQ: ``annotation_uid, annotation_idx``).
"""

from __future__ import annotations

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
from unimd_lib.train.run_dir import RunDir
from unimd_lib.train.runtime import eval_mode

TAD_COLUMNS = ("video_id", "t_start", "t_end", "label", "score")
MR_COLUMNS = ("video_id", "query_index", "t_start", "t_end", "score")


def _rows(video: VideoQueries, task: str, dets) -> dict[str, np.ndarray]:
    n = len(dets.scores)
    cols = {
        "video_id": np.full(n, video.video_id, dtype=object),
        "t_start": dets.segments[:, 0].astype(np.float32),
        "t_end": dets.segments[:, 1].astype(np.float32),
        "score": dets.scores.astype(np.float32),
    }
    labels = dets.labels.astype(np.int64)
    if task == "tad":
        cols["label"] = labels
    else:
        cols["query_index"] = labels
        for key, values in video.mr.meta.items():
            if key in ("annotation_uid", "annotation_idx"):
                cols[key] = np.asarray(values, dtype=object)[labels] if n else np.zeros(0, dtype=object)
    return cols


def _frame(parts: list[dict[str, np.ndarray]], columns: tuple[str, ...]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object if c == "video_id" else np.float32) for c in columns})
    keys = list(columns) + [k for k in parts[0] if k not in columns]
    df = pd.DataFrame({k: np.concatenate([p[k] for p in parts]) for k in keys})
    for key in ("label", "query_index", "annotation_idx"):
        if key in df:
            df[key] = df[key].astype(np.int64)
    return df


@torch.no_grad()
def predict_dataset(
    model: UniMD, dataset: VideoDataset, device: torch.device, *, progress: bool = True, desc: str = "predict"
) -> dict[str, pd.DataFrame]:
    """Detections of every video of ``dataset`` for every task it carries, as one table per task."""
    parts: dict[str, list] = {"tad": [], "mr": []}
    max_seq_len = dataset.cfg.max_seq_len
    with eval_mode(model):
        for index in tqdm(range(len(dataset)), desc=desc, disable=not progress, leave=False):
            video = dataset[index]
            if not video.tasks:
                continue
            if fits_single_pass(model, video.length, max_seq_len):
                batch = collate([video], max_seq_len=max_seq_len, training=False).to(device)
                dets = model.predict(batch)[0]
            else:  # longer than single-pass inference takes: overlapping windows (model.windows)
                dets = predict_windows(model, video, max_seq_len=max_seq_len, device=device)
            for task, d in dets.items():
                parts[task].append(_rows(video, task, d))
    out = {}
    if dataset.tad is not None:
        out["tad"] = _frame(parts["tad"], TAD_COLUMNS)
    if dataset.mr is not None:
        out["mr"] = _frame(parts["mr"], MR_COLUMNS)
    return out


def predict_run(
    run_dir,
    split: str | None = None,
    *,
    checkpoint: str = "best",
    device: str = "auto",
    progress: bool = True,
    write: bool = True,
) -> dict[str, pd.DataFrame]:
    """Predictions of a trained run on ``split`` (default: the validation split) with its ``best`` or ``last``
    EMA weights; written to ``RUN/predictions/<split>_<task>.csv`` when ``write``."""
    from unimd_lib.train.run_model import open_run

    trained = open_run(run_dir, checkpoint=checkpoint, device=device)
    dataset = trained.dataset(split)
    preds = predict_dataset(trained.model, dataset, trained.device, progress=progress, desc=f"predict {dataset.split}")
    if write:
        for task, df in preds.items():
            write_predictions(df, RunDir(run_dir).prediction_file(dataset.split, task))
    return preds


def write_predictions(df: pd.DataFrame, path) -> None:
    """A prediction table as CSV, atomically (float32 values written exactly)."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format="%.9g")
