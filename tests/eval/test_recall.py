"""Charades-STA and ActivityNet-Captions recall: refcases, converter output, edge cases E3 and E4."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest

from tests.eval.refcases import case_file, edge_cases, expected, resolve
from unimd_lib.eval.recall import evaluate_captions, evaluate_sta
from unimd_lib.formats.captions import parse_captions, read_captions
from unimd_lib.formats.database import read_database
from unimd_lib.formats.predictions import read_predictions
from unimd_lib.formats.submissions import captions_submission, captions_windows, read_captions_submission


def test_charades_sta_hits_summary_and_per_video():
    exp = expected("charades_sta")
    table = read_database(resolve(exp["annotation_file"])).subset("Test")
    r = evaluate_sta(table.annotations, read_predictions(case_file("charades_sta", "predictions.csv"), "sta"))
    out = exp["outputs"]
    assert r.hits == out["hits"] and r.num_queries == out["num_queries(labels)"]
    for key, value in out["summary(hits/(labels+1e-5))"].items():
        assert r.summary[key] == pytest.approx(value, rel=1e-9, abs=0)
    per_video = r.per_video.set_index("video_id")
    want = out["per_video_detail(r1_50,r1_70 percent)"]
    assert len(per_video) == len(want) == 400
    for vid, vals in want.items():
        assert per_video.loc[vid, "r1_50"] == vals["r1_50"] and per_video.loc[vid, "r1_70"] == vals["r1_70"], vid


def test_e4_float32_iou_inclusive_thresholds_ignored_labels():
    case = edge_cases()["E4_charades_sta_semantics"]
    g, p = case["gt"], case["predictions"]
    gt = pd.DataFrame(
        {
            "video_id": g["id"],
            "index": g["labels"],
            "t_start": [s for s, _ in g["segments"]],
            "t_end": [e for _, e in g["segments"]],
        }
    )
    preds = pd.DataFrame(
        {
            "video_id": g["id"],
            "query_index": p["labels"],
            "t_start": [s for s, _ in p["segments"]],
            "t_end": [e for _, e in p["segments"]],
            "score": p["scores"],
        }
    )
    r = evaluate_sta(gt, preds)
    assert r.hits == case["hits"] and r.num_queries == case["labels"]
    for key, value in case["summary"].items():
        assert r.summary[key] == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("split", ["val_2", "val_1"])
def test_captions_converter_and_recall(split):
    exp = expected("anet_captions")["per_annotation_file"][split]
    raw = read_predictions(case_file("anet_captions", f"raw_predictions_{split}.csv.gz"), "captions")
    ref_path = case_file("anet_captions", f"predictions_anet_mr_format_{split}.json.gz")
    with gzip.open(ref_path, "rt") as fh:
        ref = json.load(fh)
    assert captions_submission(raw) == ref
    gt = read_captions(resolve(exp["annotation_file"]))
    for windows in (captions_windows(raw), read_captions_submission(ref_path)):
        r = evaluate_captions(gt, windows)
        assert r.num_queries == exp["num_gt_keys(denominator)"]
        assert r.hits == exp["hit_counts"]  # exact
        assert r.recall == {k: v for k, v in exp["outputs"].items() if k != "mIOU"}  # float32 values (numpy >= 2)
        assert r.mIoU == pytest.approx(exp["outputs"]["mIOU"], rel=1e-9, abs=0)


def test_e3_epsilon_missing_keys_float32_recall():
    case = edge_cases()["E3_anet_captions_semantics"]
    gt = parse_captions(case["gt"], "e3.json")
    results = case["predictions"]["results"]
    windows = pd.DataFrame(
        [(k, r, s, e) for k, v in results.items() for r, (s, e) in enumerate(v["timestamp"])],
        columns=["key", "rank", "t_start", "t_end"],
    )
    r = evaluate_captions(gt, windows)
    out = case["outputs"]
    assert r.mIoU == pytest.approx(out["mIOU"], rel=1e-12)
    assert r.recall == {k: v for k, v in out.items() if k != "mIOU"}
    assert r.num_missing == 1
    # the +1e-8: an IoU of exactly 0.5 lands just below 0.5
    one = pd.DataFrame({"key": ["v_x-0"], "rank": [0], "t_start": [10.0], "t_end": [15.0]})
    assert evaluate_captions(gt, one).mIoU * 3 == pytest.approx(case["iou_exact_half"], rel=1e-15)
    assert np.float32(1) / np.float32(3) == np.float32(out["R@5IOU0.5"])


def test_predictions_for_unknown_videos_or_queries_are_ignored():
    gt = pd.DataFrame({"video_id": ["A", "A"], "index": [0, 1], "t_start": [0.0, 20.0], "t_end": [10.0, 30.0]})
    preds = pd.DataFrame(
        {
            "video_id": ["A", "B", "A"],
            "query_index": [0, 0, 7],
            "t_start": [0.0, 0.0, 20.0],
            "t_end": [10.0, 10.0, 30.0],
            "score": [0.5, 0.9, 0.9],
        }
    )
    r = evaluate_sta(gt, preds)  # only (A, 0) counts: 1 hit of 2 queries at every (k, thr)
    assert r.hits == {"1-0.50": 1, "1-0.70": 1, "5-0.50": 1, "5-0.70": 1} and r.num_ignored == 2
    caps = parse_captions({"v_a": {"duration": 50.0, "timestamps": [[0.0, 10.0]], "sentences": ["s"]}}, "c.json")
    windows = pd.DataFrame({"key": ["v_b-0", "v_a-0"], "rank": [0, 0], "t_start": [0.0, 0.0], "t_end": [10.0, 10.0]})
    r = evaluate_captions(caps, windows)
    assert r.hits["R@1IOU0.7"] == 1 and r.num_ignored == 1 and r.num_missing == 0
