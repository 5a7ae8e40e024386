"""ANETdetection-equivalent mAP / top-k recall against the refcases (relative 1e-9) and edge case E1."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.eval.refcases import case_file, edge_cases, expected, resolve
from unimd_lib.eval.detection_gt import detection_ground_truth, read_detection_ground_truth
from unimd_lib.eval.detection_map import evaluate_detection
from unimd_lib.eval.protocols import PROTOCOLS
from unimd_lib.formats.database import parse_database
from unimd_lib.formats.predictions import read_class_scores, read_predictions
from unimd_lib.post.fusion import fuse_external_scores

REL = 1e-9  # README: deterministic metrics


def assert_rel(actual, wanted, rel=REL):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(wanted, dtype=float), rtol=rel, atol=0)


def check_outputs(result, out):
    assert_rel(result.average_mAP, out["average_mAP"])
    assert_rel(result.mAP, out["mAP_per_tiou"])
    assert_rel(result.mRecall, out["mRecall_per_tiou_topk"])
    if "ap_per_class" in out:
        assert result.class_label_ids.tolist() == out["ap_per_class"]["columns_label_id"]
        assert_rel(result.ap, out["ap_per_class"]["values"])
        assert_rel(result.recall, out["recall_per_class"]["values"])


def run_case(case: str, predictions: pd.DataFrame, sub: str | None = None):
    exp = expected(case)[sub] if sub else expected(case)
    thresholds = np.asarray(exp["tiou_thresholds"])
    gt = read_detection_ground_truth(resolve(exp["annotation_file"]), expected(case).get("split", "Test"))
    return evaluate_detection(gt, predictions, thresholds), exp["outputs"]


@pytest.mark.parametrize(
    ("protocol", "thresholds"),
    [("anet", "anet_tad"), ("ego4d_mq", "ego4d_mq"), ("charades_segment", ("charades_tad", "f2_anet_style_map"))],
)
def test_protocol_thresholds_are_the_originals_linspace(protocol, thresholds):
    case, sub = thresholds if isinstance(thresholds, tuple) else (thresholds, None)
    exp = expected(case)[sub] if sub else expected(case)
    assert list(PROTOCOLS[protocol].tiou_thresholds) == exp["tiou_thresholds"]  # bit-equal: 0.8999999999999999


def test_anet_tad():
    result, out = run_case("anet_tad", read_predictions(case_file("anet_tad", "predictions.csv"), "detection"))
    check_outputs(result, out)
    assert result.metrics()["mAP@0.50"] * 100 == pytest.approx(out["mAP@0.5_percent(UniMD 'mAP@50')"], rel=REL)


def test_anet_extscore_fusion_and_map():
    proposals = read_predictions(case_file("anet_tad_extscore", "proposals.csv"), "detection")
    scores = read_class_scores(case_file("anet_tad_extscore", "cls_scores.json.gz"))
    fused = fuse_external_scores(proposals, scores)
    ref = read_predictions(case_file("anet_tad_extscore", "fused_predictions.csv.gz"), "detection")
    assert len(fused) == len(ref) == expected("anet_tad_extscore")["predictions_meta"]["num_fused_predictions"]
    for col in ("video_id", "t_start", "t_end", "label"):  # same rows, same order
        assert (fused[col].to_numpy() == ref[col].to_numpy()).all(), col
    assert_rel(fused["score"].to_numpy(), ref["score"].to_numpy())
    result, out = run_case("anet_tad_extscore", fused)
    check_outputs(result, out)


def test_ego4d_mq():
    result, out = run_case("ego4d_mq", read_predictions(case_file("ego4d_mq", "predictions.csv"), "detection"))
    check_outputs(result, out)
    assert result.metrics()["R1@0.50"] * 100 == pytest.approx(out["R1@0.5_percent(UniMD 'R1@50')"], rel=REL)
    gt = read_detection_ground_truth(resolve(expected("ego4d_mq")["annotation_file"]), "validation")
    assert len(gt) == expected("ego4d_mq")["num_gt_instances_after_dedup"]


def test_charades_segment_map_f2():
    preds = read_predictions(case_file("charades_tad", "predictions.csv"), "detection")
    result, out = run_case("charades_tad", preds, "f2_anet_style_map")
    check_outputs(result, out)


# ------------------------------------------------------------------------------------------------ edge case E1
E1 = "E1_anetdetection_semantics"


def e1_inputs():
    case = edge_cases()[E1]
    gt = detection_ground_truth(parse_database(case["gt"], "edge_gt.json"), "validation")
    return gt, pd.DataFrame(case["predictions"]), case["runs"]


@pytest.mark.parametrize(
    "run", ["anet_tiou_linspace(0.5,0.95,10)", "ego4d_tiou_linspace(0.1,0.5,5)", "charades_tiou_linspace(0.3,0.7,5)"]
)
def test_e1_dedup_aliasing_split_and_thresholds(run):
    gt, preds, runs = e1_inputs()
    exp = runs[run]
    assert len(gt) == exp["num_gt_after_dedup"]
    index = {str(lid): col for col, lid in enumerate(gt.class_label_ids)}
    assert index == exp["activity_index(label_id->column)"]
    thresholds = np.asarray([float(t) for t in exp["tiou_thresholds_repr"]])
    result = evaluate_detection(gt, preds, thresholds)
    assert_rel(result.mAP, exp["mAP_per_tiou"])
    assert_rel(result.average_mAP, exp["average_mAP"])
    assert_rel(result.mRecall, exp["mRecall_per_tiou_topk"])
    assert_rel(result.ap, exp["ap_per_class"])


def test_e1_empty_predictions_return_zeros():
    gt, preds, _ = e1_inputs()
    assert edge_cases()[E1]["empty_prediction_dict_returns"] == [0, 0, 0]
    result = evaluate_detection(gt, preds.iloc[:0], np.linspace(0.5, 0.95, 10))
    assert result.average_mAP == 0 and not result.mAP.any() and not result.mRecall.any()
    assert all(v == 0 for v in result.metrics().values())
