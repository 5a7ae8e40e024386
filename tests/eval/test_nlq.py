"""Ego4D NLQ: the converter output and the recall against the refcase, and edge case E2."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.conftest import shared_path
from tests.eval.refcases import case_file, edge_cases, expected, resolve
from unimd_lib.errors import DataError
from unimd_lib.eval.nlq import evaluate_nlq
from unimd_lib.formats.database import read_database
from unimd_lib.formats.nlq_official import read_nlq_official
from unimd_lib.formats.predictions import read_predictions
from unimd_lib.formats.submissions import nlq_submission, read_nlq_submission, write_submission_json


@pytest.fixture(scope="module")
def converted():
    raw = read_predictions(case_file("ego4d_nlq", "raw_predictions.csv"), "nlq")
    clips = read_database(shared_path("annotations", "ego4d", "nlq", "clip_annotations_not_filter.json"))
    return nlq_submission(raw, clips, "validation")


def test_converter_equals_the_original_conversion(converted, tmp_path):
    ref_path = case_file("ego4d_nlq", "predictions_ego4d_format.json")
    assert converted == json.loads(ref_path.read_text())
    meta = expected("ego4d_nlq")["predictions_meta"]
    assert len(converted["results"]) == meta["num_result_entries"]
    assert sum(not e["predicted_times"] for e in converted["results"]) == meta["num_entries_with_empty_predicted_times"]
    write_submission_json(converted, tmp_path / "out.json")
    assert (tmp_path / "out.json").read_bytes() == ref_path.read_bytes()


def test_recall_and_miou(capsys):
    exp = expected("ego4d_nlq")
    gt = read_nlq_official(resolve(exp["annotation_file"]))
    r = evaluate_nlq(gt, read_nlq_submission(case_file("ego4d_nlq", "predictions_ego4d_format.json")))
    np.testing.assert_allclose(r.recall, exp["outputs"]["mean_results[threshold][topK]"], rtol=1e-9, atol=0)
    assert r.mIoU == pytest.approx(exp["outputs"]["mIoU"], rel=1e-9, abs=0)
    assert capsys.readouterr().err.startswith("Evaluated: 3874 / 3875 instances")
    m = r.metrics()
    assert m["R1@0.30"] * 100 == pytest.approx(exp["outputs"]["UniMD_reported"]["r1_30"], rel=1e-9)
    assert m["R5@0.50"] * 100 == pytest.approx(exp["outputs"]["UniMD_reported"]["r5_50"], rel=1e-9)


def e2():
    case = edge_cases()["E2_ego4d_nlq_semantics"]
    gt = pd.DataFrame(
        [
            (c["clip_uid"], a["annotation_uid"], i, q["clip_start_sec"], q["clip_end_sec"])
            for v in case["gt"]["videos"]
            for c in v["clips"]
            for a in c["annotations"]
            for i, q in enumerate(a["language_queries"])
        ],
        columns=["clip_uid", "annotation_uid", "query_idx", "t_start", "t_end"],
    )
    return case, gt, pd.DataFrame(case["predictions"])


def test_e2_strict_threshold_duplicates_empty_lists_denominator():
    case, gt, sub = e2()
    r = evaluate_nlq(gt, sub, case["thresholds"], case["topK"])
    assert r.recall.tolist() == case["mean_results"]
    assert r.mIoU == pytest.approx(case["mIoU"], rel=1e-12)


def test_entry_without_gt_is_an_error():
    _, gt, sub = e2()
    sub.loc[1, "annotation_uid"] = "zzz"
    with pytest.raises(DataError, match="entry 1.*annotation zzz"):
        evaluate_nlq(gt, sub)
