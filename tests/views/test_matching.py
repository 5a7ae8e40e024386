"""The explorer's TP / FP / hit / missed labels are the protocols' matching: aggregated over every lane they give
back exactly the protocol's counts, AP and recall (synthetic run + the shared reference cases)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import shared_path
from unimd_lib.eval.assignments import assign_detections, mr_rule
from unimd_lib.eval.detection_gt import read_detection_ground_truth
from unimd_lib.eval.detection_map import evaluate_detection
from unimd_lib.eval.nlq import evaluate_nlq
from unimd_lib.eval.recall import evaluate_sta
from unimd_lib.formats.database import read_database
from unimd_lib.formats.nlq_official import read_nlq_official
from unimd_lib.formats.predictions import read_predictions
from unimd_lib.formats.submissions import nlq_submission, parse_nlq_submission
from unimd_lib.views import Controls, TimelineData, mr_recall_curve, tables_from_files

ALL = dict(score_min=-np.inf, top_k=None)


def voc_ap(flags: np.ndarray, npos: int) -> float:
    """The original ANETdetection AP of one class from its TP flags in rank order (float32 cumulative counts)."""
    if len(flags) == 0:
        return 0.0
    tp = np.cumsum(flags).astype(np.float32)
    fp = np.cumsum(~flags).astype(np.float32)
    rec, prec = tp / np.float32(npos), tp / (tp + fp)
    mprec, mrec = np.hstack([[0], prec, [0]]), np.hstack([[0], rec, [1]])
    for i in range(len(mprec) - 1)[::-1]:
        mprec[i] = max(mprec[i], mprec[i + 1])
    idx = np.where(mrec[1:] != mrec[:-1])[0] + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx]))


def all_tad_lanes(data: TimelineData, tiou: float, videos=None) -> pd.DataFrame:
    parts = []
    for v in videos if videos is not None else data.videos("tad"):
        for item, _ in data.items(v, "tad"):
            lanes = data.lanes(Controls(v, "tad", item, tiou=tiou, **ALL))
            parts.append(
                lanes.predictions.assign(
                    video_id=v, label_id=item, lane_gt=len(lanes.gt), lane_hit=lanes.metrics["hit"]
                )
            )
    return pd.concat(parts, ignore_index=True)


def test_explorer_tp_flags_give_the_protocols_ap_and_tp_counts(demo, demo_data):
    tad = demo.tad
    thresholds = tad.thresholds
    result = evaluate_detection(tad.gt, tad.predictions, thresholds)
    npos = np.bincount(tad.gt.label, minlength=tad.gt.num_classes)
    scored = (assign_detections(tad.gt, tad.predictions, thresholds[:1]).column >= 0).sum()
    for t, thr in enumerate(thresholds):
        lanes = all_tad_lanes(demo_data, thr)
        assert len(lanes) == scored  # every scored prediction is in exactly one lane
        for c, label_id in enumerate(result.class_label_ids):
            mine = lanes[lanes["label_id"] == label_id].sort_values("split_rank")
            assert (mine["split_rank"].to_numpy() == np.arange(1, len(mine) + 1)).all()
            assert voc_ap(mine["status"].to_numpy() == "TP", npos[c]) == result.ap[t, c]
        n_tp = int((lanes["status"] == "TP").sum())
        per_lane = lanes.drop_duplicates(["video_id", "label_id"])
        assert n_tp == per_lane["lane_hit"].sum()  # one-to-one: TPs = GT detected
        assert result.ap[t].mean() == pytest.approx(result.mAP[t], abs=0)


def test_filters_keep_the_outcome_of_every_prediction_they_keep(demo, demo_data):
    v = demo.videos.loc[demo.videos["tad"], "video_id"]
    checked = 0
    for video in v[:12]:
        for item, _ in demo_data.items(video, "tad"):
            full = demo_data.lanes(Controls(video, "tad", item, tiou=0.3, **ALL)).predictions
            for score_min, top_k in ((0.5, None), (-np.inf, 1), (0.3, 2)):
                part = demo_data.lanes(Controls(video, "tad", item, score_min, top_k, 0.3)).predictions
                keep = full["score"] >= score_min
                if top_k is not None:
                    keep &= full["rank"] <= top_k
                expect = full[keep]
                assert part["status"].tolist() == expect["status"].tolist()
                assert part["split_rank"].tolist() == expect["split_rank"].tolist()
                checked += 1
    assert checked > 10


def test_gt_hit_is_the_matching_prediction_being_shown(demo_data, demo):
    video = demo.videos.loc[demo.videos["tad"], "video_id"].iloc[0]
    item = demo_data.items(video, "tad")[0][0]
    full = demo_data.lanes(Controls(video, "tad", item, tiou=0.1, **ALL))
    none = demo_data.lanes(Controls(video, "tad", item, score_min=np.inf, tiou=0.1))
    assert none.n_shown == 0 and (none.gt["status"] == "missed").all()
    hit_by = full.gt.loc[full.gt["status"] == "hit", "matched_by"]
    assert (full.predictions.set_index("rank").loc[hit_by, "status"] == "TP").all()


def test_mr_hits_match_evaluate_nlq(demo, demo_root, demo_data):
    """Synthetic run scored with ego4d_nlq: per-query hits at every (threshold, k) = the official recall."""
    mr = demo.mr
    raw = read_predictions(demo_root / "predictions" / "validation_mr.csv", "sta")
    raw = raw.rename(columns={"video_id": "clip_uid"})
    sub = parse_nlq_submission(nlq_submission(raw, read_database(demo_root / "data" / "mr.json"), "validation"))
    official = evaluate_nlq(read_nlq_official(demo_root / "data" / "mr_official_validation.json"), sub)
    queries = mr.queries
    assert len(queries) == official.num_entries
    for i, thr in enumerate(official.thresholds):
        for j, k in enumerate(official.top_k):
            hits = sum(
                demo_data.lanes(Controls(v, "mr", q, -np.inf, k, thr)).metrics["r@k"]
                for v, q in zip(queries["video_id"], queries["query_index"])
            )
            assert hits == official.hits[i, j]
    curve = mr_recall_curve(mr, thresholds=official.thresholds, ks=official.top_k)
    np.testing.assert_array_equal(curve[[f"R@{k}" for k in official.top_k]].to_numpy(), official.recall)


def test_mr_hits_match_evaluate_sta_on_synthetic(demo_root):
    """The same run read as Charades-STA (>= and float32 IoU): lane hits = MREvaluator hits."""
    preds = demo_root / "predictions" / "validation_mr.csv"
    tables = tables_from_files(
        mr_gt=demo_root / "data" / "mr.json", mr_protocol="charades_sta", mr_split="validation", mr_predictions=preds
    )
    gt = read_database(demo_root / "data" / "mr.json").subset("validation").annotations
    expected = evaluate_sta(gt, read_predictions(preds, "sta")).hits
    data = TimelineData(tables)
    q = tables.mr.queries
    for key, n in expected.items():
        k, thr = int(key.split("-")[0]), float(key.split("-")[1])
        got = sum(
            data.lanes(Controls(v, "mr", i, -np.inf, k, thr)).metrics["r@k"]
            for v, i in zip(q["video_id"], q["query_index"])
        )
        assert got == n, key


def test_comparison_override_changes_only_the_boundary():
    ge, gt_ = mr_rule("charades_sta"), mr_rule("charades_sta", ">")
    iou = np.array([0.5, 0.5000001, 0.4999999], dtype=np.float32).astype(np.float64)
    assert ge.hit(iou, 0.5).tolist() == [True, True, False]
    assert gt_.hit(iou, 0.5).tolist() == [False, True, False]
    assert mr_rule("ego4d_nlq").hit(np.array([0.3, np.nan, 0.31]), 0.3).tolist() == [False, False, True]


# ------------------------------------------------------------------------------------- shared reference cases
def test_ego4d_mq_refcase_assignment_equals_protocol():
    ann = shared_path("annotations", "ego4d", "mq", "clip_annotations_not_filter.json")
    preds = read_predictions(shared_path("refcases", "ego4d_mq", "predictions.csv"), "detection")
    gt = read_detection_ground_truth(ann, "validation")
    thr = np.linspace(0.1, 0.5, 5)
    a = assign_detections(gt, preds, thr)
    r = evaluate_detection(gt, preds, thr)
    npos = np.bincount(gt.label, minlength=gt.num_classes)
    for t in range(len(thr)):
        m = a.matched_gt[t] >= 0
        assert (a.gt_matched_by[t, a.matched_gt[t, m]] == np.flatnonzero(m)).all()  # inverse maps
        assert (a.gt_matched_by[t] >= 0).sum() == m.sum()
        assert (gt.label[a.matched_gt[t, m]] == a.column[m]).all()  # matched within its class
        assert (gt.video_id[a.matched_gt[t, m]] == preds["video_id"].to_numpy()[m]).all()
        for c in range(gt.num_classes):
            sel = np.flatnonzero(a.column == c)
            flags = a.tp[t, sel[np.argsort(a.rank[sel])]]
            assert voc_ap(flags, npos[c]) == r.ap[t, c]


def test_charades_sta_and_nlq_refcases_recall_equals_protocol():
    sta_gt = read_database(shared_path("annotations", "derived", "charades_sta_constructed_public.json"))
    sta_preds = shared_path("refcases", "charades_sta", "predictions.csv")
    tables = tables_from_files(mr_gt=sta_gt.path, mr_predictions=sta_preds, mr_protocol="charades_sta")
    expected = evaluate_sta(sta_gt.subset("Test").annotations, read_predictions(sta_preds, "sta"))
    curve = mr_recall_curve(tables.mr, thresholds=(0.5, 0.7), ks=(1, 5))
    for key, n in expected.hits.items():
        k, thr = key.split("-")
        assert round(curve.loc[float(thr), f"R@{k}"] * expected.num_queries) == n, key

    nlq = shared_path("annotations", "ego4d", "nlq")
    raw = read_predictions(shared_path("refcases", "ego4d_nlq", "raw_predictions.csv"), "nlq")
    tables = tables_from_files(
        mr_gt=nlq / "nlq_val.json",
        mr_predictions=raw,
        mr_protocol="ego4d_nlq",
        mr_queries_path=nlq / "clip_annotations_not_filter.json",
    )
    sub = parse_nlq_submission(nlq_submission(raw, read_database(nlq / "clip_annotations_not_filter.json")))
    official = evaluate_nlq(read_nlq_official(nlq / "nlq_val.json"), sub)
    curve = mr_recall_curve(tables.mr, thresholds=official.thresholds, ks=official.top_k)
    np.testing.assert_array_equal(curve[[f"R@{k}" for k in official.top_k]].to_numpy(), official.recall)


def test_anet_fused_predictions_are_what_the_protocol_scores():
    """ANet: class-agnostic proposals + external class scores → the tables hold the fused detections."""
    import contextlib
    import io

    from unimd_lib.eval.protocols import evaluate

    ann = shared_path("annotations", "derived", "anet13_val_derived.json")
    case = shared_path("refcases", "anet_tad_extscore")
    props = read_predictions(case / "proposals.csv", "detection")
    tad = tables_from_files(
        tad_gt=ann, tad_predictions=props, tad_protocol="anet", ext_scores=case / "cls_scores.json.gz"
    ).tad
    with contextlib.redirect_stderr(io.StringIO()):
        official = evaluate("anet", ann, props, ext_scores=case / "cls_scores.json.gz")
    assert evaluate_detection(tad.gt, tad.predictions, tad.thresholds).metrics() == official
