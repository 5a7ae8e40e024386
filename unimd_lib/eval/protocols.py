"""Protocol registry: name → how to read its prediction file and how to score it against its GT file.

Every ``Protocol.evaluate(gt_path, predictions, split, ext_scores, backend)`` returns a flat ``{metric: value}``
dict of fractions (thresholds formatted with two decimals). Diagnostics go to stderr.

========================= ===================================== ==================================================
protocol                  GT file (default split)               predictions
========================= ===================================== ==================================================
``anet``                  ANet database JSON (``validation``)   detection CSV; with ``ext_scores`` class-agnostic
                                                                proposals, fused first (``post/fusion.py``)
``ego4d_mq``              MQ clip JSON (``validation``)         detection CSV
``charades_segment``      Charades database JSON (``Test``)     detection CSV
``charades``              ``Charades_v1_test.csv``              detection CSV (segments), or a frame-score text
                                                                file (``.txt`` / ``.txt.gz``)
``ego4d_nlq``             official ``nlq_val.json``             NLQ submission JSON (see ``unimd export``)
``charades_sta``          Charades-STA database JSON (``Test``) STA CSV
``anet_captions``         captions JSON (``val_2.json``)        captions CSV, or a result JSON (``.json[.gz]``)
========================= ===================================== ==================================================

Empty predictions: detection protocols return zeros (as ANETdetection); the recall protocols count every query
as a miss; ``charades`` scores all frames 0.0 (every frame ties; an empty frame-score *text* is an error, as in
the official reader); an empty NLQ submission has no denominator (NaN, printed as null by the CLI).
Predictions on videos outside the GT are false positives for the detection mAPs and are ignored by the others
(counts on stderr). ANet ids: a leading ``v_`` is stripped where that turns an unknown id into a GT id (UniMD
strips it before evaluating).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from unimd_lib.errors import DataError, UsageError
from unimd_lib.eval.charades_frames import (
    NUM_CLASSES,
    align_frame_scores,
    charades_localize,
    frame_labels,
    per_frame_map,
)
from unimd_lib.eval.detection_gt import DetectionGroundTruth, read_detection_ground_truth
from unimd_lib.eval.detection_map import evaluate_detection
from unimd_lib.eval.nlq import evaluate_nlq
from unimd_lib.eval.recall import evaluate_captions, evaluate_sta
from unimd_lib.formats.captions import read_captions
from unimd_lib.formats.charades_csv import read_charades_csv
from unimd_lib.formats.database import read_database
from unimd_lib.formats.files import read_once
from unimd_lib.formats.nlq_official import read_nlq_official
from unimd_lib.formats.predictions import read_class_scores, read_predictions, validate_predictions
from unimd_lib.formats.submissions import (
    captions_windows,
    read_captions_submission,
    read_charades_frame_scores,
    read_nlq_submission,
)
from unimd_lib.post.fusion import fuse_external_scores

Evaluate = Callable[[Any, pd.DataFrame, "str | None", Any, str], dict]


def _note(msg: str) -> None:
    print(msg, file=sys.stderr)


@dataclass(frozen=True)
class Protocol:
    name: str
    default_split: str | None
    read: Callable[[Any], pd.DataFrame]
    evaluate: Evaluate
    help: str
    tiou_thresholds: tuple[float, ...] | None = None  # detection protocols: exactly the original's np.linspace


def _suffixes(path) -> str:
    return "".join(Path(path).suffixes[-2:]).lower()


def _strip_v_prefix(ids: pd.Series, known: set[str]) -> pd.Series:
    """UniMD strips the ``v_`` of ANet ids before evaluating; here only where that turns an unknown id into a GT id
    (a genuine id may start with ``v_``)."""
    ids = ids.astype(str)
    fix = ids.str.startswith("v_") & ~ids.isin(known) & ids.str[2:].isin(known)
    return ids.where(~fix, ids.str[2:])


def prepare_detection_predictions(gt: DetectionGroundTruth, predictions: pd.DataFrame, ext_scores=None) -> pd.DataFrame:
    """What the detection protocols score: validated predictions, fused with ``ext_scores`` (a class-score file
    or mapping; ANet) when given, and ``v_`` ids mapped onto GT ids (see ``_strip_v_prefix``)."""
    predictions = validate_predictions(predictions, "detection")
    known = set(gt.video_id)
    if ext_scores is not None:
        scores = read_once(read_class_scores, ext_scores) if not isinstance(ext_scores, Mapping) else ext_scores
        scores = {
            (k[2:] if k.startswith("v_") and k[2:] in known and k not in known else k): v for k, v in scores.items()
        }
        predictions = predictions.assign(video_id=_strip_v_prefix(predictions["video_id"], known))
        predictions = fuse_external_scores(predictions, scores, source=str(ext_scores))
    return predictions.assign(video_id=_strip_v_prefix(predictions["video_id"], known))


def _detection(thresholds) -> Evaluate:
    def run(gt_path, predictions, split, ext_scores, backend):
        gt = read_once(read_detection_ground_truth, gt_path, split)
        predictions = prepare_detection_predictions(gt, predictions, ext_scores)
        known = set(gt.video_id)
        outside = int((~predictions["video_id"].isin(known)).sum())
        _note(f"{len(predictions)} predictions; {outside} on videos without GT in split {split!r} (false positives)")
        return evaluate_detection(gt, predictions, thresholds, backend=backend).metrics()

    return run


def _charades(gt_path, predictions, split, ext_scores, backend):
    table = read_once(read_charades_csv, gt_path)
    if "frame" in predictions.columns:  # a frame-score file: score it as the official evaluator reads it
        scores = predictions.drop(columns=["video_id", "frame"]).to_numpy(np.float64)
        aligned, missing = align_frame_scores(table.videos["video_id"], predictions, scores)
        if missing:
            _note(f"{len(missing)} GT frames not in predictions (scored -inf), e.g. {missing[:3]}")
        return per_frame_map(aligned, frame_labels(table)).metrics()
    predictions = validate_predictions(predictions, "detection")
    outside = int((~predictions["video_id"].isin(set(table.videos["video_id"]))).sum())
    if outside:
        _note(f"{outside} predictions on videos not in {Path(gt_path).name} ignored")
    return charades_localize(table, predictions, backend=backend).metrics()


def _read_charades(path) -> pd.DataFrame:
    if _suffixes(path).endswith((".txt", ".txt.gz")):
        ids, scores = read_charades_frame_scores(path)
        if len(ids) == 0:  # the official reader fails on it too
            raise DataError(path, None, "empty frame-score file (use an empty segment CSV for 'no predictions')")
        if scores.shape[1] != NUM_CLASSES:
            raise DataError(path, None, f"{scores.shape[1]} class scores per line, expected {NUM_CLASSES}")
        return pd.concat([ids, pd.DataFrame(scores, columns=[f"c{c:03d}" for c in range(NUM_CLASSES)])], axis=1)
    return read_predictions(path, "detection")


def _nlq(gt_path, predictions, split, ext_scores, backend):
    return evaluate_nlq(read_once(read_nlq_official, gt_path), predictions, backend=backend, source=None).metrics()


def _sta(gt_path, predictions, split, ext_scores, backend):
    table = read_once(read_database, gt_path)
    sub = table.subset(split) if split is not None else table
    if sub.videos.empty:
        found = sorted(set(table.videos["subset"]))
        raise DataError(gt_path, None, f"no videos in split {split!r}; subsets in the file: {found}")
    predictions = validate_predictions(predictions, "sta")
    result = evaluate_sta(sub.annotations, predictions, backend=backend)
    _note(f"{result.num_queries} GT queries; {result.num_ignored} predictions for unknown videos/queries ignored")
    return result.metrics()


def _captions(gt_path, predictions, split, ext_scores, backend):
    if "key" in predictions.columns:  # a result JSON: windows already ranked
        windows = predictions
    else:
        windows = captions_windows(validate_predictions(predictions, "captions"))
    result = evaluate_captions(read_once(read_captions, gt_path), windows, backend=backend)
    _note(
        f"{result.num_queries} GT queries, {result.num_missing} without predictions (misses); "
        f"{result.num_ignored} predicted windows for unknown keys ignored"
    )
    return result.metrics()


def _read_captions(path) -> pd.DataFrame:
    if _suffixes(path).endswith((".json", ".json.gz")):
        return read_captions_submission(path)
    return read_predictions(path, "captions")


def _det(path) -> pd.DataFrame:
    return read_predictions(path, "detection")


def _sta_read(path) -> pd.DataFrame:
    return read_predictions(path, "sta")


ANET_TIOU, MQ_TIOU, CHARADES_TIOU = np.linspace(0.5, 0.95, 10), np.linspace(0.1, 0.5, 5), np.linspace(0.3, 0.7, 5)
PROTOCOLS: dict[str, Protocol] = {
    p.name: p
    for p in (
        Protocol(
            "anet",
            "validation",
            _det,
            _detection(ANET_TIOU),
            "ActivityNet-1.3 TAD mAP (tIoU 0.50:0.05:0.95); --ext-scores applies UniMD's class fusion",
            tuple(ANET_TIOU),
        ),
        Protocol(
            "ego4d_mq",
            "validation",
            _det,
            _detection(MQ_TIOU),
            "Ego4D Moment Queries TAD mAP (tIoU 0.1:0.1:0.5)",
            tuple(MQ_TIOU),
        ),
        Protocol(
            "charades_segment",
            "Test",
            _det,
            _detection(CHARADES_TIOU),
            "Charades ANet-style segment mAP (tIoU 0.3:0.1:0.7)",
            tuple(CHARADES_TIOU),
        ),
        Protocol(
            "charades",
            None,
            _read_charades,
            _charades,
            "Charades official per-frame mAP / wAP (25 frames per video) from segments or frame scores",
        ),
        Protocol("ego4d_nlq", None, read_nlq_submission, _nlq, "Ego4D NLQ recall R{1,3,5}@{0.3,0.5,0.01}, mIoU"),
        Protocol("charades_sta", "Test", _sta_read, _sta, "Charades-STA R{1,5}@{0.5,0.7}"),
        Protocol("anet_captions", None, _read_captions, _captions, "ActivityNet-Captions R{1,5}@{0.5,0.7}, mIoU"),
    )
}


def get_protocol(name: str) -> Protocol:
    if name not in PROTOCOLS:
        raise UsageError(None, "PROTOCOL", f"unknown protocol {name!r}; expected one of {', '.join(PROTOCOLS)}")
    return PROTOCOLS[name]


def evaluate(
    protocol: str,
    gt_path,
    predictions: pd.DataFrame,
    split: str | None = None,
    ext_scores=None,
    backend: str = "auto",
) -> dict[str, float]:
    """Score ``predictions`` (as ``read_protocol_predictions`` returns them) with ``protocol``."""
    p = get_protocol(protocol)
    if ext_scores is not None and protocol != "anet":
        raise UsageError(None, "--ext-scores", f"only applies to the 'anet' protocol, not {protocol!r}")
    if split is None:
        split = p.default_split
    elif p.default_split is None:
        _note(f"{protocol}: the GT file has no splits; split {split!r} ignored")
    return p.evaluate(gt_path, predictions, split, ext_scores, backend)


def read_protocol_predictions(protocol: str, path) -> pd.DataFrame:
    return get_protocol(protocol).read(path)
