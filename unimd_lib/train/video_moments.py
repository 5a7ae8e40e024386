"""A trained run's moments in features of a video outside its dataset (e.g. features extracted from your own
video file with ``unimd_lib.video``): the features are checked against the run's grid and input width,
L2-normalised per step as the loaders do, and run through sliding-window inference (single pass when the
video fits one window), with the run's TAD vocabulary (or a chosen part of it) as queries."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from unimd_lib.data.record import TaskQueries, VideoQueries
from unimd_lib.errors import ConfigError
from unimd_lib.formats.features import l2_normalise
from unimd_lib.formats.grid import effective_stride
from unimd_lib.model.windows import predict_windows
from unimd_lib.train.run_model import TrainedRun

COLUMNS = ("query", "rank", "t_start", "t_end", "score")


def check_grid(trained: TrainedRun, *, fps: float, feat_stride: float, num_frames: float, dim: int) -> None:
    """Raise ConfigError when features of this grid / width cannot feed the run's model."""
    data = trained.cfg.data
    if float(data.feat_stride) != float(feat_stride) or float(data.num_frames) != float(num_frames):
        raise ConfigError(
            None, "recipe", f"features on stride {feat_stride} / window {num_frames} frames, but the run was trained "
            f"on stride {data.feat_stride} / window {data.num_frames}: extract with the run's grid",
        )  # fmt: skip
    if data.default_fps is not None and float(data.default_fps) != float(fps):
        raise ConfigError(None, "recipe.fps", f"features at {fps} fps, the run's data is at {data.default_fps} fps")
    if int(trained.cfg.model.input_dim) != int(dim):
        raise ConfigError(None, "model.input_dim", f"the run's model takes {trained.cfg.model.input_dim}-d features, "
                          f"these are {dim}-d: use the encoder the run was trained on")  # fmt: skip


def moments_in_features(
    trained: TrainedRun,
    feats: np.ndarray,
    *,
    fps: float,
    duration: float | None = None,
    classes: Sequence[str] | None = None,
    top_k: int = 5,
    video_id: str = "video",
    window: int | None = None,
    stride: int | None = None,
) -> pd.DataFrame:
    """Top ``top_k`` moments (seconds) per class of the run's TAD vocabulary (all, or ``classes``) in
    ``feats`` [T, C] sampled at ``fps`` on the run's grid; columns query, rank, t_start, t_end, score."""
    data = trained.cfg.data
    feats = np.asarray(feats, dtype=np.float32)
    check_grid(trained, fps=fps, feat_stride=data.feat_stride, num_frames=data.num_frames, dim=feats.shape[1])
    dataset = trained.dataset()
    if dataset.class_embeddings is None:
        raise ConfigError(None, "data.tad", "the run has no TAD vocabulary to query")
    names = list(dataset.class_names)
    wanted = names if classes is None else list(classes)
    unknown = [c for c in wanted if c not in names]
    if unknown:
        raise ConfigError(None, "classes", f"{unknown[0]!r} is not a class of the run (classes: {names})")
    index = [names.index(c) for c in wanted]
    stride_eff = effective_stride(data.feat_stride, data.downsample_rate)
    video = VideoQueries(
        video_id, l2_normalise(feats[:: data.downsample_rate]).T.copy(), float(fps),
        float(duration if duration is not None else feats.shape[0] * data.feat_stride / fps), stride_eff,
        float(data.num_frames),
        tad=TaskQueries(dataset.class_embeddings[index], wanted, np.zeros((0, 2), np.float32), np.zeros(0, np.int64)),
    )  # fmt: skip
    dets = predict_windows(trained.model, video, window=window, stride=stride, max_seq_len=data.max_seq_len)["tad"]
    df = pd.DataFrame({"query": np.asarray(wanted, dtype=object)[dets.labels], "t_start": dets.segments[:, 0],
                       "t_end": dets.segments[:, 1], "score": dets.scores})  # fmt: skip
    df = df.sort_values(["query", "score"], ascending=[True, False], kind="stable")
    df["rank"] = df.groupby("query").cumcount() + 1
    return df[df["rank"] <= top_k][list(COLUMNS)].reset_index(drop=True)
