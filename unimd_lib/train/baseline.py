"""Reference points for a trained model: a content-blind prior baseline and the untrained network.

The prior baseline never looks at the video: for every class (TAD) or query (MR) it proposes windows of the
training mean length (per class for TAD, over all moments for MR) centred every half length across the video,
scored by how often training moments are centred at that relative position (× the class frequency for TAD).
A model has to beat it to show that it uses the features and the query.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from unimd_lib.config.load import Config
from unimd_lib.data.dataset import VideoDataset
from unimd_lib.model.unimd import UniMD
from unimd_lib.train.evaluate import evaluate_predictions
from unimd_lib.train.predict import MR_COLUMNS, TAD_COLUMNS, predict_dataset
from unimd_lib.train.runtime import pick_device

POSITION_BINS = 10


def _moments(dataset: VideoDataset, task: str) -> pd.DataFrame:
    rows = []
    for a in getattr(dataset, task).videos.values():
        segs = np.asarray(a.segments, dtype=np.float64).reshape(-1, 2)
        for (s, e), lab in zip(segs, np.asarray(a.labels).reshape(-1)):
            if e > s and a.duration > 0:
                rows.append((int(lab), e - s, min(max(0.5 * (s + e) / a.duration, 0.0), 1.0 - 1e-9)))
    return pd.DataFrame(rows, columns=["label", "length", "rel_center"])


def _position_prior(moments: pd.DataFrame) -> np.ndarray:
    counts = np.bincount((moments["rel_center"] * POSITION_BINS).astype(int), minlength=POSITION_BINS) + 1.0
    return counts / counts.sum()


def _windows(duration: float, length: float, prior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    length = min(max(length, 1e-3), duration)
    centres = np.arange(0.5 * length, duration - 0.5 * length + 1e-9, 0.5 * length)
    if centres.size == 0:
        centres = np.array([0.5 * duration])
    bins = np.minimum((centres / duration * POSITION_BINS).astype(int), POSITION_BINS - 1)
    segs = np.stack([centres - 0.5 * length, centres + 0.5 * length], axis=1)
    return np.clip(segs, 0.0, duration), prior[bins]


def prior_baseline(train: VideoDataset, val: VideoDataset) -> dict[str, pd.DataFrame]:
    """Prediction tables (the formats of ``train.predict``) of the prior baseline on ``val``."""
    out = {}
    if train.tad is not None and val.tad is not None:
        m = _moments(train, "tad")
        prior, freq, mean_len = (
            _position_prior(m),
            m["label"].value_counts(normalize=True),
            m.groupby("label")["length"],
        )
        mean_len = mean_len.mean()
        rows = []
        for vid, a in val.tad.videos.items():
            for label, length in mean_len.items():
                segs, score = _windows(a.duration, float(length), prior)
                rows.append(pd.DataFrame({"video_id": vid, "t_start": segs[:, 0], "t_end": segs[:, 1],
                                          "label": label, "score": score * freq[label]}))  # fmt: skip
        out["tad"] = (
            pd.concat(rows, ignore_index=True)[list(TAD_COLUMNS)] if rows else pd.DataFrame(columns=TAD_COLUMNS)
        )
    if train.mr is not None and val.mr is not None:
        m = _moments(train, "mr")
        prior, length = _position_prior(m), float(m["length"].mean())
        rows = []
        for vid, a in val.mr.videos.items():
            segs, score = _windows(a.duration, length, prior)
            for q in range(len(a.texts)):
                table = {"video_id": vid, "query_index": q, "t_start": segs[:, 0], "t_end": segs[:, 1], "score": score}
                table.update({k: v[q] for k, v in a.meta.items() if k in ("annotation_uid", "annotation_idx")})
                rows.append(pd.DataFrame(table))
        out["mr"] = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=MR_COLUMNS)
    return out


def reference_metrics(cfg: Config, task: str = "all") -> dict[str, dict[str, float]]:
    """Validation metrics of the prior baseline and of the untrained model (seeded init, EMA = init)."""
    train = VideoDataset(cfg.data, cfg.data.train_split, task, check_files=False)
    val = VideoDataset(cfg.data, cfg.data.val_split, task, training=False)
    torch.manual_seed(cfg.run.seed)
    device = pick_device(cfg.run.device)
    model = UniMD(cfg.model).to(device)
    untrained = predict_dataset(model, val, device, progress=False)
    return {
        "prior_baseline": evaluate_predictions(cfg, prior_baseline(train, val)),
        "untrained": evaluate_predictions(cfg, untrained),
    }
