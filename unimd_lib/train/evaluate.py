"""Scoring a run's prediction tables with the protocols of its config (``eval`` section), as ``unimd
evaluate`` would score the same predictions written to disk."""

from __future__ import annotations

import contextlib
import io

import pandas as pd

from unimd_lib.config.load import Config
from unimd_lib.eval.from_config import ground_truth, protocol_of
from unimd_lib.eval.protocols import evaluate
from unimd_lib.formats.database import read_database
from unimd_lib.formats.files import read_once
from unimd_lib.formats.submissions import nlq_submission, parse_nlq_submission

__all__ = ["PRIMARY", "evaluate_predictions", "ground_truth", "protocol_input", "protocol_of", "selection_metric"]

# the metric each protocol is usually quoted by (selection default when eval.select names another task)
PRIMARY = {
    "anet": "average_mAP",
    "ego4d_mq": "average_mAP",
    "charades_segment": "average_mAP",
    "charades": "mAP",
    "ego4d_nlq": "R1@0.30",
    "charades_sta": "R1@0.50",
    "anet_captions": "R1@0.50",
}


def protocol_input(cfg: Config, task: str, protocol: str, df: pd.DataFrame) -> pd.DataFrame:
    """A run's raw table → what the protocol reads (MR tables carry ``query_index``)."""
    if protocol == "anet_captions":
        return df.rename(columns={"query_index": "sentence_index"})
    if protocol == "ego4d_nlq":
        clips = read_once(
            read_database, cfg.data.mr.annotations.get(cfg.data.val_split) or cfg.data.mr.annotations["*"]
        )
        raw = df.rename(columns={"video_id": "clip_uid"})
        sub = nlq_submission(raw, clips, split=_subset(cfg, "mr"))
        return parse_nlq_submission(sub)
    return df


def _subset(cfg: Config, task: str) -> str | None:
    files = getattr(cfg.data, task)
    return files.subsets.get(cfg.data.val_split, cfg.data.val_split)


def evaluate_predictions(
    cfg: Config, preds: dict[str, pd.DataFrame], *, backend: str = "auto", quiet: bool = True
) -> dict[str, float]:
    """``{"tad/<metric>": value, "mr/<metric>": value}`` for every task with a protocol."""
    metrics: dict[str, float] = {}
    for task, df in preds.items():
        protocol = protocol_of(cfg, task)
        if protocol is None:
            continue
        ext = cfg.resolve(cfg.eval.ext_scores) if task == "tad" and protocol == "anet" else None
        sink = io.StringIO()
        with contextlib.redirect_stderr(sink) if quiet else contextlib.nullcontext():
            values = evaluate(
                protocol,
                ground_truth(cfg, task),
                protocol_input(cfg, task, protocol, df),
                split=cfg.eval.split,
                ext_scores=ext,
                backend=backend,
            )
        metrics.update({f"{task}/{k}": float(v) for k, v in values.items()})
    return metrics


def selection_metric(cfg: Config, task: str) -> str | None:
    """The ``task/metric`` that picks the best checkpoint for a run of ``task`` (tad, mr or all)."""
    trained = ("tad", "mr") if task == "all" else (task,)
    if cfg.eval.select and cfg.eval.select.split("/")[0] in trained:
        return cfg.eval.select
    for t in trained:
        protocol = protocol_of(cfg, t)
        if protocol is not None:
            return f"{t}/{PRIMARY[protocol]}"
    return None
