"""The ``xp`` code paths give the numpy backend's results exactly.

* ``fake``: CuPy's API surface emulated on the CPU (``fake_device.py``: CuPy-only names, always-stable argsort,
  no host arrays inside device operations); runs wherever CuPy is importable, GPU or not.
* ``gpu``: real CuPy on a CUDA device (``@pytest.mark.gpu``; skipped without one).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.eval import fake_device
from tests.eval.refcases import case_file, edge_cases, expected, resolve
from unimd_lib.eval.charades_frames import frame_scores_from_segments
from unimd_lib.eval.detection_gt import detection_ground_truth, read_detection_ground_truth
from unimd_lib.eval.detection_map import evaluate_detection
from unimd_lib.eval.nlq import evaluate_nlq
from unimd_lib.eval.recall import evaluate_captions, evaluate_sta
from unimd_lib.formats.captions import read_captions
from unimd_lib.formats.charades_csv import read_charades_csv
from unimd_lib.formats.database import parse_database, read_database
from unimd_lib.formats.nlq_official import read_nlq_official
from unimd_lib.formats.predictions import read_predictions
from unimd_lib.formats.submissions import captions_windows, read_nlq_submission


def tie_heavy_detection(seed=0):
    """Integer segments and few distinct scores: equal tIoUs, score ties, several GTs per block, NaN tIoUs."""
    rng = np.random.default_rng(seed)
    db = {
        f"v{v}": {
            "subset": "validation",
            "duration": 40.0,
            "annotations": [
                {"segment": [float(s), float(s + rng.integers(1, 8))], "label_id": int(rng.integers(0, 3))}
                for s in rng.integers(0, 20, rng.integers(1, 8))
            ],
        }
        for v in range(6)
    }
    gt = detection_ground_truth(parse_database({"database": db}, "tie.json"), "validation")
    n = 400
    s = rng.integers(0, 20, n).astype(float)
    preds = pd.DataFrame(
        {
            "video_id": [f"v{i}" for i in rng.integers(0, 7, n)],
            "t_start": s,
            "t_end": s + rng.integers(-3, 9, n),
            "label": rng.integers(0, 4, n),
            "score": rng.choice([0.2, 0.4, 0.6, 0.8], n),
        }
    )
    return gt, preds


def detection_results(backend):
    out = []
    gt, preds = tie_heavy_detection()
    out.append(evaluate_detection(gt, preds, np.linspace(0.1, 0.5, 5), backend=backend))
    e1 = edge_cases()["E1_anetdetection_semantics"]
    gt = detection_ground_truth(parse_database(e1["gt"], "edge_gt.json"), "validation")
    out.append(evaluate_detection(gt, pd.DataFrame(e1["predictions"]), np.linspace(0.5, 0.95, 10), backend=backend))
    exp = expected("anet_tad")
    gt = read_detection_ground_truth(resolve(exp["annotation_file"]), "validation")
    preds = read_predictions(case_file("anet_tad", "predictions.csv"), "detection")
    out.append(evaluate_detection(gt, preds, exp["tiou_thresholds"], backend=backend))
    return [(r.ap, r.recall, r.mAP, r.average_mAP, r.mRecall) for r in out]


def mr_results(backend):
    nlq = evaluate_nlq(
        read_nlq_official(resolve(expected("ego4d_nlq")["annotation_file"])),
        read_nlq_submission(case_file("ego4d_nlq", "predictions_ego4d_format.json")),
        backend=backend,
    )
    sta = evaluate_sta(
        read_database(resolve(expected("charades_sta")["annotation_file"])).annotations,
        read_predictions(case_file("charades_sta", "predictions.csv"), "sta"),
        backend=backend,
    )
    cap_exp = expected("anet_captions")["per_annotation_file"]["val_2"]
    raw = read_predictions(case_file("anet_captions", "raw_predictions_val_2.csv.gz"), "captions")
    cap = evaluate_captions(read_captions(resolve(cap_exp["annotation_file"])), captions_windows(raw), backend=backend)
    return [nlq.metrics(), nlq.hits, sta.hits, sta.summary, sta.per_video, cap.hits, cap.metrics()]


def frame_results(backend):
    exp = expected("charades_tad")["f1_per_frame_map_from_segments"]
    table = read_charades_csv(resolve(exp["annotation_file"]))
    preds = read_predictions(case_file("charades_tad", "predictions.csv"), "detection")
    return frame_scores_from_segments(table.videos["video_id"], table.videos["length"], preds, backend=backend)


def assert_same(a, b):
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    else:
        assert a == b


@pytest.mark.parametrize("results", [detection_results, mr_results, frame_results])
def test_fake_device_equals_numpy(monkeypatch, results):
    want = results("numpy")
    fake_device.install(monkeypatch)
    assert_same(results("cupy"), want)


@pytest.mark.gpu
@pytest.mark.parametrize("results", [detection_results, mr_results, frame_results])
def test_cupy_equals_numpy(results):
    assert_same(results("cupy"), results("numpy"))
