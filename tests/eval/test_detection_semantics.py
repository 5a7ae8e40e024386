"""Hand-derived tiny cases for the ANETdetection semantics of METRICS.md §1 (values worked out by hand)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from unimd_lib.eval.detection_gt import detection_ground_truth, remove_duplicate_annotations
from unimd_lib.eval.detection_map import evaluate_detection, map_labels
from unimd_lib.formats.database import parse_database
from unimd_lib.post.ranking import numpy_desc_order


def gt_of(*events, split="validation", other=()):
    """events: (video, start, end, label_id) in the split; other: same, in the training split."""
    db = {}
    for subset, evs in (("validation", events), ("training", other)):
        for vid, s, e, lab in evs:
            db.setdefault(vid, {"subset": subset, "duration": 100.0, "annotations": []})
            db[vid]["annotations"].append({"segment": [s, e], "label_id": lab})
    return detection_ground_truth(parse_database({"database": db}, "tiny.json"), split)


def preds_of(*rows):
    return pd.DataFrame(rows, columns=["video_id", "t_start", "t_end", "label", "score"])


def test_dedup_is_against_kept_events_only_and_drops_short_events():
    ann = pd.DataFrame(
        [("v", 0.0, 10.0, 1), ("v", 0.0008, 10.0, 1), ("v", 0.0016, 10.0, 1), ("v", 0.0, 10.0, 2), ("v", 5, 5.0009, 1)],
        columns=["video_id", "t_start", "t_end", "label_id"],
    )
    kept = remove_duplicate_annotations(ann)
    # row 1 is within 1e-3 of row 0 (dropped); row 2 is within 1e-3 of the *dropped* row 1 only (kept);
    # another label is never a duplicate; a 0.0009 s event is shorter than 1e-3 (dropped)
    assert kept.index.tolist() == [0, 2, 3]


def test_greedy_matching_takes_the_next_free_gt_and_float32_precision():
    gt = gt_of(("v", 0, 10, 0), ("v", 5, 15, 0))
    preds = preds_of(("v", 0, 10, 0, 0.9), ("v", 1, 10, 0, 0.8), ("v", 5, 15, 0, 0.7))
    r = evaluate_detection(gt, preds, [0.3, 0.5])
    # tIoU rows: p1 (1, 1/3), p2 (0.9, 5/14), p3 (1/3, 1)
    # @0.3: p1->A, p2->B (A taken), p3: B taken, A taken -> FP; TP TP FP -> AP = 0.5*1 + 0.5*1
    # @0.5: p1->A, p2: A taken, B 5/14 < 0.5 -> FP; p3->B; TP FP TP -> AP = 0.5*1 + 0.5*float32(2/3)
    assert r.ap[:, 0].tolist() == [1.0, 0.5 + 0.5 * float(np.float32(2 / 3))]
    # top-1x (2 predictions: p1, p2): @0.3 both GTs hit, @0.5 only A; top-5x sees p3 too
    assert r.recall[:, :, 0].tolist() == [[1.0, 1.0], [0.5, 1.0]]


def test_tiou_equal_to_threshold_is_a_tp_and_thresholds_are_used_bit_exactly():
    gt = gt_of(("v", 0, 10, 0))
    r = evaluate_detection(gt, preds_of(("v", 0, 5, 0, 0.9)), [0.5, 0.55])  # tIoU exactly 0.5
    assert r.ap[:, 0].tolist() == [1.0, 0.0]
    r = evaluate_detection(gt, preds_of(("v", 0, 3, 0, 0.9)), np.linspace(0.1, 0.5, 5))  # tIoU exactly 0.3
    assert r.ap[:, 0].tolist() == [1.0, 1.0, 0.0, 0.0, 0.0]  # linspace[2] is 0.30000000000000004


def test_predictions_on_unknown_or_other_split_videos_are_false_positives():
    gt = gt_of(("v", 0, 10, 0), other=[("t", 0, 10, 0)])
    preds = preds_of(("t", 0, 10, 0, 0.95), ("nope", 0, 10, 0, 0.9), ("v", 0, 10, 0, 0.8))
    r = evaluate_detection(gt, preds, [0.5])
    assert r.ap[0, 0] == pytest.approx(float(np.float32(1 / 3)), rel=0)  # FP FP TP: 1 * 1/3 (float32)


def test_label_aliasing_and_out_of_range_labels():
    class_ids = np.array([0, 2, 5])
    # 2 -> column 1; 1 has no GT: left as is = column 1 (QUIRK); 7 and -1 are outside the 3 columns
    assert map_labels(np.array([0, 2, 5, 1, 7, -1]), class_ids).tolist() == [0, 1, 2, 1, 7, -1]
    gt = gt_of(("v", 0, 10, 0))
    r = evaluate_detection(gt, preds_of(("v", 0, 10, 9, 0.9)), [0.5])  # label 9: never scored
    assert r.ap.tolist() == [[0.0]] and r.mRecall.tolist() == [[0.0, 0.0]]


def test_nan_tiou_passes_the_threshold_test():
    # pred [10, 0] against GT [0, 10]: inter 0, union 10 + (-10) - 0 = 0 -> tIoU NaN; `NaN < thr` is False and
    # argsort()[::-1] visits NaN first, so the original counts it as a TP (METRICS.md §1.4 read literally)
    gt = gt_of(("v", 0, 10, 0))
    r = evaluate_detection(gt, preds_of(("v", 10, 0, 0, 0.9), ("v", 0, 10, 0, 0.8)), [0.5])
    assert r.ap[0, 0] == 1.0  # TP then FP (GT taken): AP 1
    # top-k recall tests `tiou >= thr`: NaN never hits; top-1x sees only the NaN one, top-5x also the second
    assert r.recall[0, :, 0].tolist() == [0.0, 1.0]


def test_numpy_desc_order_replays_numpy_argsort_per_group_with_ties():
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 4, 3000)
    scores = rng.choice([0.1, 0.2, 0.3, 0.25], 3000).astype(np.float64)  # heavy ties, groups > 16 rows
    order = numpy_desc_order(groups, scores)
    for g in range(4):
        rows = np.flatnonzero(groups == g)
        want = rows[np.argsort(scores[rows])[::-1]]  # the original's per-group call
        assert (order[groups[order] == g] == want).all()
    assert (np.diff(groups[order]) >= 0).all()
