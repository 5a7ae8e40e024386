"""Ask a trained run new questions: free text (or any query embeddings) → ranked moments of one video, either a
video of the run's dataset (by id) or features of a video that is not in it."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch

from unimd_lib.data.collate import collate
from unimd_lib.data.dataset import VideoDataset
from unimd_lib.data.record import TaskQueries, VideoQueries
from unimd_lib.errors import ConfigError, DataError, UsageError
from unimd_lib.formats.features import l2_normalise
from unimd_lib.formats.grid import downsample
from unimd_lib.post.decode import Segments
from unimd_lib.text import TextEncoder, run_text_encoder
from unimd_lib.train.run_model import TrainedRun, open_run

QUERY_COLUMNS = ("query", "t_start", "t_end", "score")


def find_video(trained: TrainedRun, video_id: str) -> VideoQueries:
    """The record of ``video_id`` from the run's validation split, else its training split."""
    data = trained.cfg.data
    for split in dict.fromkeys((data.val_split, data.train_split)):
        ds = VideoDataset(data, split, trained.info["task"], training=False, check_files=False)
        if video_id in ds.video_ids:
            return ds.record(video_id)
    raise DataError(trained.cfg.source, f"video {video_id}", f"not in the run's splits {data.val_split!r} or "
                    f"{data.train_split!r} (pass features= for a video outside the dataset)")  # fmt: skip


def external_video(
    trained: TrainedRun, features: np.ndarray, *, fps: float | None = None, name="features"
) -> VideoQueries:
    """A video outside the dataset from its features [T, C] on the run's feature grid (same extractor, stride and
    window), prepared as the dataset prepares its own (per-step L2 normalisation, down-sampling)."""
    data = trained.cfg.data
    arr = np.asarray(features)
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise DataError(name, "features", f"expected a non-empty [T, C] array, got shape {tuple(arr.shape)}")
    if arr.shape[1] != trained.cfg.model.input_dim:
        raise DataError(
            name, "features", f"{arr.shape[1]} channels, the run's model reads {trained.cfg.model.input_dim}"
        )
    if not np.isfinite(arr).all():
        raise DataError(name, "features", f"non-finite value at time step {int(np.argwhere(~np.isfinite(arr))[0, 0])}")
    fps = fps if fps is not None else (data.default_fps or 30.0)
    feats = downsample(l2_normalise(arr.astype(np.float32), axis=1), data.downsample_rate)
    stride = float(data.feat_stride * data.downsample_rate)
    duration = float(arr.shape[0] * data.feat_stride / fps)
    return VideoQueries(str(name), np.ascontiguousarray(feats.T, np.float32), float(fps), duration, stride,
                        float(data.num_frames))  # fmt: skip


def detect(
    trained: TrainedRun, video: VideoQueries, embeddings: np.ndarray, texts: Sequence[str], task="mr"
) -> Segments:
    """Detections (seconds, after NMS) of ``video`` for query ``embeddings`` [K, E] as ``task`` queries (``mr``:
    one sentence each; ``tad``: a class vocabulary, decoded and NMS-ed as the run's TAD)."""
    dim = trained.cfg.model.query_dim
    if embeddings.ndim != 2 or embeddings.shape[1] != dim:
        raise ConfigError(trained.cfg.source, "model.query_dim", f"query embeddings are {tuple(embeddings.shape)}, "
                          f"the run's model reads {dim}-d queries")  # fmt: skip
    empty = TaskQueries(np.ascontiguousarray(embeddings, np.float32), list(texts), np.zeros((0, 2), np.float32),
                        np.zeros(0, np.int64))  # fmt: skip
    record = VideoQueries(video.video_id, video.feats, video.fps, video.duration, video.feat_stride, video.num_frames)
    setattr(record, task, empty)
    batch = collate([record], max_seq_len=trained.cfg.data.max_seq_len, training=False).to(trained.device)
    with torch.no_grad():
        return trained.model.predict(batch)[0][task]


def ranked(dets: Segments, texts: Sequence[str], top_k: int) -> pd.DataFrame:
    """The ``top_k`` moments of each query, best first: columns ``query, t_start, t_end, score``."""
    rows = []
    for k, text in enumerate(texts):
        sel = np.flatnonzero(dets.labels == k)
        sel = sel[np.argsort(-dets.scores[sel], kind="stable")][:top_k]
        rows.append(pd.DataFrame({"query": text, "t_start": dets.segments[sel, 0].astype(float),
                                  "t_end": dets.segments[sel, 1].astype(float),
                                  "score": dets.scores[sel].astype(float)}))  # fmt: skip
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=list(QUERY_COLUMNS))


def query_moments(
    run_dir: str | os.PathLike | TrainedRun,
    texts: str | Sequence[str],
    *,
    video_id: str | None = None,
    features: np.ndarray | None = None,
    top_k: int = 5,
    checkpoint: str = "best",
    encoder: TextEncoder | None = None,
    fps: float | None = None,
    device: str = "auto",
) -> pd.DataFrame:
    """Ranked moments (``query, t_start, t_end, score``; seconds) of free-text ``texts`` in one video: ``video_id``
    of the run's dataset, or ``features`` [T, C] float32 of any video on the run's feature grid. The texts are
    embedded with the encoder the run's queries were embedded with (``encoder`` overrides)."""
    texts = [texts] if isinstance(texts, str) else list(texts)
    if (video_id is None) == (features is None):
        raise UsageError(None, "video_id", "pass exactly one of video_id= and features=")
    if top_k < 1:
        raise UsageError(None, "top_k", f"must be >= 1, got {top_k}")
    trained = run_dir if isinstance(run_dir, TrainedRun) else open_run(run_dir, checkpoint=checkpoint, device=device)
    encoder = encoder or run_text_encoder(trained.run.root, device="cpu")
    emb = encoder.encode(texts)
    video = find_video(trained, video_id) if video_id is not None else external_video(trained, features, fps=fps)
    return ranked(detect(trained, video, emb, texts), texts, top_k)


def run_answer(run_dir: str | os.PathLike, checkpoint: str = "best") -> Callable[[str, str, int], pd.DataFrame]:
    """The explorer's text box (``views.explore(..., answer=...)``) backed by a trained run, opened and its text
    encoder loaded on the first question."""
    cache: dict = {}

    def answer(video_id: str, text: str, top_k: int) -> pd.DataFrame:
        if not cache:
            cache["run"] = open_run(run_dir, checkpoint=checkpoint)
            cache["encoder"] = run_text_encoder(run_dir)
        return query_moments(cache["run"], text, video_id=video_id, top_k=top_k, encoder=cache["encoder"])

    return answer
