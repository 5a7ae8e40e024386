"""Error analysis: DETAD false-positive types on hand-made cases, invariants on the synthetic run, false-negative
binning, the removing-errors gain, AP per class and the MR breakdowns."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from unimd_lib.eval.assignments import assign_detections
from unimd_lib.eval.detection_map import evaluate_detection
from unimd_lib.views import ap_per_class, fn_by, fp_impact, fp_profile, fp_types, mr_recall_by, tables_from_files
from unimd_lib.views.errors import TYPES


def database(path, videos: dict[str, tuple[float, list[tuple[int, float, float]]]], text=False):
    """A database JSON: video -> (duration, [(label_id or query words, start, end)])."""
    db = {}
    for vid, (duration, annos) in videos.items():
        rows = []
        for lab, s, e in annos:
            a = {"segment": [s, e]}
            a.update({"label": lab, "query": lab} if text else {"label": f"class {lab}", "label_id": lab})
            rows.append(a)
        db[vid] = {"subset": "validation", "duration": duration, "fps": 30.0, "annotations": rows}
    path.write_text(json.dumps({"database": db}))
    return path


def preds(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["video_id", "label", "t_start", "t_end", "score"])


@pytest.fixture
def case(tmp_path):
    gt = database(
        tmp_path / "gt.json",
        {
            "v1": (100.0, [(0, 10, 20), (1, 30, 40), (0, 60, 70)]),
            "v2": (50.0, [(1, 0, 10)]),
            "v4": (20.0, [(0, 0, 10), (1, 0, 9)]),
        },
    )
    p = preds(
        [
            ("v1", 0, 10, 20, 0.95),  # p0 TP (A)
            ("v1", 0, 10.5, 20, 0.90),  # p1 A already taken, tIoU .95: double detection
            ("v1", 1, 11, 20, 0.85),  # p2 best GT is A (class 0), tIoU .9: wrong label
            ("v1", 0, 62, 80, 0.80),  # p3 C, tIoU .4: localization
            ("v1", 1, 15, 25, 0.70),  # p4 best GT A (other class), tIoU .33: confusion
            ("v1", 0, 85, 95, 0.60),  # p5 background
            ("v3", 1, 0, 10, 0.50),  # p6 video without GT: background
            ("v1", 1, 31, 40, 0.40),  # p7 TP (B)
            ("v1", 0, 30, 40, 0.30),  # p8 best GT B (other class), tIoU 1: wrong label
            ("v4", 0, 0, 10, 0.93),  # q0 TP
            ("v4", 0, 0, 9, 0.83),  # q1 own-class GT taken (tIoU .9) but other-class GT has tIoU 1: wrong label
            ("v1", 7, 10, 20, 0.99),  # label outside the protocol's classes: ignored
        ]
    )
    return tables_from_files(tad_gt=gt, tad_predictions=p, tad_protocol="ego4d_mq").tad


EXPECTED = [
    "True positive",
    "Double detection",
    "Wrong label",
    "Localization",
    "Confusion",
    "Background",
    "Background",
    "True positive",
    "Wrong label",
    "True positive",
    "Wrong label",
    None,
]


def test_detad_types_on_a_hand_made_case(case):
    types = fp_types(case, thresholds=(0.5,))["0.50"]
    assert types[:-1].tolist() == EXPECTED[:-1] and pd.isna(types.iloc[-1])


def test_fp_profile_blocks_of_gt_count(case):
    prof = fp_profile(case, groups=3, thresholds=(0.5,))
    # class 0 (3 GT): p0 q0 p1 | q1 p3 p5 | p8 ; class 1 (3 GT): p2 p4 p6 | p7
    assert prof["predictions"].tolist() == [6, 4, 1]
    assert prof.loc["1G", list(TYPES)].tolist() == pytest.approx([2 / 6, 1 / 6, 1 / 6, 0, 1 / 6, 1 / 6])
    assert prof.loc["2G", list(TYPES)].tolist() == pytest.approx([1 / 4, 0, 1 / 4, 1 / 4, 0, 1 / 4])
    assert prof.loc["3G", "Wrong label"] == 1.0
    cum = fp_profile(case, groups=3, cumulative=True, thresholds=(0.5,))
    assert cum["predictions"].tolist() == [6, 10, 11]


def test_every_prediction_has_exactly_one_type(demo):
    tad = demo.tad
    types = fp_types(tad)
    a = assign_detections(tad.gt, tad.predictions, tad.thresholds)
    for t, col in enumerate(types.columns):
        kinds = types[col]
        scored = a.column >= 0
        assert kinds[scored].isin(TYPES).all() and kinds[~scored].isna().all()
        assert (kinds == "True positive").sum() == a.tp[t].sum()
        assert kinds[scored].isin(TYPES[1:]).sum() == (scored & ~a.tp[t]).sum()
    prof = fp_profile(tad)
    full = prof[prof["predictions"] > 0]
    np.testing.assert_allclose(full[list(TYPES)].sum(axis=1), 1.0)


def test_removing_errors_gain(tmp_path):
    gt = database(tmp_path / "gt.json", {"v": (100.0, [(0, 10, 20)])})
    p = preds([("v", 0, 50, 60, 0.9), ("v", 0, 10, 20, 0.8)])  # background FP ranked above the TP
    tad = tables_from_files(tad_gt=gt, tad_predictions=p, tad_protocol="ego4d_mq").tad
    impact = fp_impact(tad, thresholds=(0.5,))
    assert impact.loc["Background", "removed"] == 1
    assert impact.loc["Background", "average_mAP"] == pytest.approx(1.0)
    assert impact.loc["Background", "gain"] == pytest.approx(0.5)
    assert impact.drop("Background")["gain"].abs().max() == 0


def test_false_negatives_by_length_coverage_and_instances(tmp_path):
    gt = database(
        tmp_path / "gt.json",
        {
            "a": (200.0, [(0, 0, 2), (0, 10, 15), (0, 20, 30), (0, 40, 55), (0, 100, 150)]),
            "b": (100.0, [(0, 0, 3)]),
        },
    )
    p = preds([("a", 0, 0, 2, 0.9), ("a", 0, 20, 30, 0.8), ("a", 0, 100, 150, 0.7)])
    tad = tables_from_files(tad_gt=gt, tad_predictions=p, tad_protocol="ego4d_mq").tad
    length = fn_by(tad, "length", thresholds=(0.5,))
    assert length["gt"].tolist() == [2, 1, 1, 1, 1]
    assert length["fn_rate"].tolist() == [0.5, 1.0, 0.0, 1.0, 0.0]
    assert length.loc["XS", "range"] == "(0, 3]"
    cov = fn_by(tad, "coverage", thresholds=(0.5,))  # 0.01 .025 .05 .075 .25 | 0.03
    assert cov["gt"].tolist() == [1, 2, 1, 1, 1] and cov["fn_rate"].tolist() == [0.0, 1.0, 0.0, 1.0, 0.0]
    inst = fn_by(tad, "instances", thresholds=(0.5,))
    assert inst["gt"].tolist() == [1, 0, 5, 0]
    assert inst.loc["XS", "fn_rate"] == 1.0 and inst.loc["M", "fn_rate"] == pytest.approx(0.4)
    assert np.isnan(inst.loc["S", "fn_rate"])
    custom = fn_by(tad, "length", bins=(0, 10, np.inf), labels=["short", "long"], thresholds=(0.5, 0.9))
    assert custom["gt"].tolist() == [4, 2] and custom["fn@0.50"].tolist() == [0.5, 0.5]


def test_ap_per_class_is_the_protocols(demo):
    tad = demo.tad
    table = ap_per_class(tad)
    r = evaluate_detection(tad.gt, tad.predictions, tad.thresholds)
    got = table.set_index("label_id")["mean_AP"]
    for c, label_id in enumerate(r.class_label_ids):
        assert got[label_id] == r.ap[:, c].mean()
    assert table["mean_AP"].is_monotonic_decreasing
    assert table["gt"].sum() == len(tad.gt)


def test_mr_recall_by_words_and_length(tmp_path):
    gt = database(
        tmp_path / "sta.json",
        {
            "a": (
                30.0,
                [
                    ("one two three", 0, 5),
                    ("one two three four five six", 10, 20),
                    ("x y z w v u t s r", 0, 30),
                ],
            )
        },
        text=True,
    )
    p = pd.DataFrame(
        {
            "video_id": ["a", "a", "a"],
            "query_index": [0, 1, 1],
            "t_start": [0.0, 0.0, 10.0],
            "t_end": [5.0, 5.0, 20.0],
            "score": [0.9, 0.9, 0.5],
        }
    )
    mr = tables_from_files(mr_gt=gt, mr_predictions=p, mr_protocol="charades_sta", mr_split="validation").mr
    words = mr_recall_by(mr, "words")
    assert words["queries"].tolist() == [1, 1, 1, 0, 0]
    assert words["R@1@0.50"].tolist()[:3] == [1.0, 0.0, 0.0]
    assert words["R@5@0.50"].tolist()[:3] == [1.0, 1.0, 0.0]
    length = mr_recall_by(mr, "length", bins=(0, 6, 15, np.inf))
    assert length.index.tolist() == ["(0, 6]", "(6, 15]", "(15, ∞]"]
    assert length["R@5@0.70"].tolist() == [1.0, 1.0, 0.0]
