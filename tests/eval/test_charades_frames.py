"""Charades per-frame mAP: refcase f1 (±2e-4), f3 (relative 1e-9), the frame-score conversion, tiny cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tests.eval.refcases import case_file, expected, resolve
from unimd_lib.eval.charades_frames import (
    align_frame_scores,
    charades_localize,
    frame_labels,
    frame_scores_from_segments,
    per_frame_map,
)
from unimd_lib.formats.charades_csv import CharadesTable, read_charades_csv
from unimd_lib.formats.predictions import read_predictions
from unimd_lib.formats.submissions import read_charades_frame_scores

F1, F3 = "f1_per_frame_map_from_segments", "f3_tiefree_frame_scores"


def test_f1_segments_to_frames_equal_the_reference_text_and_map_within_tolerance():
    exp = expected("charades_tad")[F1]
    table = read_charades_csv(resolve(exp["annotation_file"]))
    preds = read_predictions(case_file("charades_tad", "predictions.csv"), "detection")
    scores = frame_scores_from_segments(table.videos["video_id"], table.videos["length"], preds)
    ids, ref = read_charades_frame_scores(case_file("charades_tad", "frame_scores_from_segments.txt.gz"))
    assert len(ids) == 46575 and (ids["video_id"].to_numpy() == np.repeat(table.videos["video_id"], 25)).all()
    assert (ids["frame"].to_numpy() == np.tile(np.arange(25), len(table.videos))).all()
    assert (scores.astype(np.float64) == ref).all()  # every one of the 46575 x 157 values
    result = charades_localize(table, preds)
    out = exp["outputs"]
    assert abs(result.mAP - out["mAP(original, numpy default argsort on this machine)"]) <= 2e-4  # tie order
    assert abs(result.wAP - out["WAP"]) <= 2e-4


def test_f1_from_the_reference_frame_score_file():
    exp = expected("charades_tad")[F1]
    table = read_charades_csv(resolve(exp["annotation_file"]))
    ids, scores = read_charades_frame_scores(case_file("charades_tad", "frame_scores_from_segments.txt.gz"))
    aligned, missing = align_frame_scores(table.videos["video_id"], ids, scores)
    assert missing == []
    result = per_frame_map(aligned, frame_labels(table))
    assert abs(result.mAP - exp["outputs"]["mAP(original, numpy default argsort on this machine)"]) <= 2e-4


def test_f3_tie_free_exact():
    exp = expected("charades_tad")[F3]
    table = read_charades_csv(resolve(exp["annotation_file"]))
    ids, scores = read_charades_frame_scores(case_file("charades_tad", "frame_scores_tiefree_subset.txt.gz"))
    aligned, missing = align_frame_scores(table.videos["video_id"], ids, scores)
    assert missing == []
    result = per_frame_map(aligned, frame_labels(table))
    out = exp["outputs"]
    assert result.mAP == pytest.approx(out["mAP"], rel=1e-9, abs=0)
    assert result.wAP == pytest.approx(out["WAP"], rel=1e-9, abs=0)
    np.testing.assert_allclose(result.ap, out["ap_per_class"], rtol=1e-9, atol=0)


def tiny_table(length=25.0, actions=()):
    videos = pd.DataFrame({"video_id": ["V"], "length": [length]})
    acts = pd.DataFrame(actions, columns=["video_id", "label", "label_id", "t_start", "t_end"])
    return CharadesTable("tiny.csv", videos, acts)


def test_frame_conversion_inclusive_bounds_max_and_zero():
    # length 25: frame i sits at t = 25 / 25 * i = i
    preds = pd.DataFrame(
        {
            "video_id": ["V", "V", "V", "other"],
            "t_start": [2.0, 3.0, 10.5, 0.0],
            "t_end": [4.0, 3.0, 10.9, 25.0],
            "label": [1, 1, 2, 1],
            "score": [0.5, 0.75, 0.9, 1.0],
        }
    )
    s = frame_scores_from_segments(["V"], [25.0], preds, num_classes=3)
    assert s.shape == (25, 3) and s.dtype == np.float32
    col = s[:, 1].tolist()
    assert col[2] == 0.5 and col[3] == 0.75 and col[4] == 0.5  # inclusive ends; max over segments
    assert col[1] == col[5] == 0.0 and not s[:, 2].any()  # [10.5, 10.9] covers no frame time
    assert not s[:, 0].any()  # "other" is not a listed video: ignored


def test_gt_frames_inclusive_at_j_over_25_times_length():
    labels = frame_labels(tiny_table(50.0, [("V", "c003", 3, 4.0, 8.0)]), num_classes=4)
    assert np.flatnonzero(labels[:, 3]).tolist() == [2, 3, 4]  # frames at 4, 6, 8 s


def test_per_frame_ap_by_hand_and_nan_for_a_class_without_positives():
    scores = np.array([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.1, 0.4]])
    labels = np.array([[1, 0], [0, 0], [1, 0], [0, 0]], dtype=bool)
    r = per_frame_map(scores, labels)
    assert r.ap[0] == (1 / 1 + 2 / 3) / 2  # precision at each positive, averaged over the 2 positives
    assert math.isnan(r.ap[1]) and math.isnan(r.mAP)  # 0 / 0 as the original
    assert r.num_positives.tolist() == [2, 0]


def test_align_missing_frames_are_minus_inf_and_last_duplicate_wins():
    ids = pd.DataFrame({"video_id": ["V", "V", "V"], "frame": [0, 1, 0]})
    scores = np.array([[0.1], [0.2], [0.3]])
    aligned, missing = align_frame_scores(["V"], ids, scores, frames=3)
    assert aligned[:, 0].tolist() == [0.3, 0.2, -np.inf]
    assert missing == ["V-003"]
