"""The post-processing benchmark on a quick synthetic run: its tables, and agreement with the library's own
prediction (``predict_run`` / ``model.predict``) and scoring (``evaluate_predictions``)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from benchmarks import postprocess_bench as pb
from unimd_lib.backend import gpu_available
from unimd_lib.post.nms import batched_nms
from unimd_lib.train.evaluate import evaluate_predictions
from unimd_lib.train.predict import predict_run
from unimd_lib.train.run_model import load_run_config

NMS_COLUMNS = ["task", "backend", "api", "videos", "candidates", "kept", "seconds", "videos_per_s", "speedup", "equal",
               "max_abs_diff"]  # fmt: skip


@pytest.fixture(scope="module")
def predicted(quick_run):
    """What the run predicts through the library's own path: one ``model.predict`` per video (CPU forward)."""
    return predict_run(quick_run, device="cpu", progress=False, write=False)


def assert_tables_equal(got: dict, want: dict) -> None:
    """Exact on a CPU machine; there ``model.predict``'s NMS also runs on numpy. On a GPU machine it runs on CuPy
    (``backend='auto'``), so values may differ in the last bits: the NMS tolerance then applies."""
    assert got.keys() == want.keys()
    for task in want:
        pd.testing.assert_frame_equal(
            got[task], want[task], check_exact=not gpu_available(), rtol=1e-5, atol=1e-5, obj=task
        )


def test_nms_table_is_consistent(bench, split):
    t = bench.nms
    assert list(t.columns) == NMS_COLUMNS
    assert list(zip(t["task"], t["backend"], t["api"])) == [
        (task, "numpy", api) for task in ("tad", "mr") for api in ("per_video", "batch")
    ]
    for task, rows in t.groupby("task"):
        assert set(rows["candidates"]) == {split.count(task)} and split.count(task) > 0
        assert set(rows["videos"]) == {len(split.carriers(task))}
        assert rows["kept"].nunique() == 1 and 0 < rows["kept"].iloc[0] <= rows["candidates"].iloc[0]
    assert t["equal"].all() and (t["max_abs_diff"] == 0).all()  # the same numpy code on both APIs
    assert (t["seconds"] > 0).all()
    np.testing.assert_allclose(t["videos_per_s"], t["videos"] / t["seconds"])


def test_cpu_per_video_and_batch_equal_model_predict(split, predicted):
    per_video = {task: pb.nms_per_video(split, task, "numpy") for task in split.candidates}
    batch = {task: pb.nms_batch(split, task, "numpy") for task in split.candidates}
    for task in split.candidates:
        assert pb.kept_equal(batch[task], per_video[task]) == (True, 0.0)
    assert_tables_equal(pb.prediction_tables(split, per_video), predicted)
    assert_tables_equal(pb.prediction_tables(split, batch), predicted)


def test_reference_tables_are_the_run_predictions(bench, predicted):
    assert_tables_equal(bench.predictions, predicted)


def test_numpy_metrics_equal_evaluate_predictions(bench, quick_run, predicted):
    cfg, _ = load_run_config(quick_run)
    want = evaluate_predictions(cfg, predicted, backend="numpy")
    e = bench.evaluation
    assert list(e.columns) == list(pb.EVAL_COLUMNS)
    assert set(e["protocol"]) == {"ego4d_mq", "ego4d_nlq"}  # the synthetic config's two protocols
    got = {f"{case.split('/')[-1]}/{metric}": v for case, metric, v in zip(e["case"], e["metric"], e["numpy"])}
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=0 if not gpu_available() else 1e-9, abs=0), key


def test_per_label_cap_when_the_per_video_cap_is_off(split):
    """Quirk §11.8 off: no cut over the whole video, then every label keeps its own top ``max_seg_num``; checked
    against ``batched_nms`` of each video alone + a groupby."""
    off = replace(split, per_video_cap=False, test_cfg=replace(split.test_cfg, max_seg_num=3))
    t = off.test_cfg
    cut = 0
    for task, c in off.candidates.items():
        per_video, batch = pb.nms_per_video(off, task), pb.nms_batch(off, task)
        assert pb.kept_equal(batch, per_video)[0]
        for v in off.carriers(task):
            rows = c.rows == v
            segs, scores, labels = batched_nms(
                c.segments[rows], c.scores[rows], c.labels[rows], iou_threshold=t.iou_threshold,
                min_score=t.min_score, max_seg_num=max(int(rows.sum()), 1), use_soft_nms=t.nms_method == "soft",
                multiclass=t.multiclass_nms, sigma=t.nms_sigma, voting_thresh=t.voting_thresh, backend="numpy",
            )  # fmt: skip
            top = (pd.Series(labels).groupby(labels).cumcount() < 3).to_numpy()
            mine = batch.video == v
            np.testing.assert_array_equal(batch.labels[mine], labels[top])
            np.testing.assert_array_equal(batch.scores[mine], scores[top])
            np.testing.assert_array_equal(batch.segments[mine], segs[top])
            cut += int((~top).sum())
    assert cut > 0  # the per-label cap did bind


def test_kept_equal_catches_differences(bench, split):
    ref = pb.nms_per_video(split, "tad")
    assert len(ref.scores)
    nudged = ref._replace(scores=ref.scores * np.float32(1 + 1e-3))
    ok, diff = pb.kept_equal(nudged, ref)
    assert not ok and diff > 0
    assert pb.kept_equal(ref._replace(labels=ref.labels + 1), ref) == (False, float("inf"))
    shorter = ref.select(slice(0, -1))
    assert pb.kept_equal(shorter, ref)[0] is False


def test_assert_all_equal_names_the_differing_rows(bench):
    pb.assert_all_equal(bench.nms, bench.evaluation)
    bad = bench.nms.assign(equal=[True, False, True, True])
    with pytest.raises(AssertionError, match="1 row"):
        pb.assert_all_equal(bad)


def test_timing_by_case(bench):
    t = pb.timing_by_case(bench.evaluation)
    assert list(t["case"]) == ["validation/tad", "validation/mr"]
    assert list(t["metrics"]) == list(bench.evaluation.groupby("case", sort=False).size())


@pytest.mark.skipif(gpu_available(), reason="checks the behaviour without a GPU")
def test_without_a_gpu_there_are_no_gpu_rows(bench, split):
    status = pb.gpu_status()
    assert not status.available and "CPU only" in status.message
    assert pb.default_backends() == ("numpy",)
    assert bench.evaluation["cupy"].isna().all() and bench.evaluation["equal"].isna().all()
    with pytest.raises(RuntimeError, match="backend='cupy' requested"):
        pb.nms_batch(split, "tad", "cupy")
    assert "metrics scored on numpy only" in bench.summary()


def test_gpu_rows_logic_with_a_stand_in_device(split, monkeypatch):
    """The CuPy rows' bookkeeping (warm-up, reference, equality, evaluation columns) on the CPU: NMS routed to numpy,
    the evaluators to the CuPy stand-in of the eval tests."""
    from tests.eval import fake_device
    from unimd_lib.post import nms

    fake_device.install(monkeypatch)
    monkeypatch.setattr(nms, "get_xp", lambda backend="auto": np)
    res = pb.run_bench(split, repeats=1, backends=("numpy", "cupy"))
    assert list(zip(res.nms["backend"], res.nms["api"]))[:4] == [
        ("numpy", "per_video"), ("numpy", "batch"), ("cupy", "per_video"), ("cupy", "batch")
    ]  # fmt: skip
    assert res.nms["equal"].all()
    assert res.evaluation["cupy"].notna().all() and res.evaluation["equal"].all()
    assert (res.evaluation["cupy_s"] > 0).all()
    assert "identical on numpy and CuPy: True" in res.summary()


@pytest.mark.gpu
def test_gpu_rows_equal_the_cpu(split):
    res = pb.run_bench(split, repeats=2, backends=("numpy", "cupy"))
    gpu = res.nms.loc[res.nms["backend"] == "cupy"]
    assert len(gpu) == 4 and gpu["equal"].all(), res.nms
    assert (gpu["max_abs_diff"] <= 1e-4).all()
    assert res.evaluation["equal"].all(), res.evaluation.loc[~res.evaluation["equal"]]
    assert pb.gpu_status().available


def test_status_without_cupy(monkeypatch):
    from benchmarks import device_timing

    monkeypatch.setattr(device_timing, "cupy_module", lambda: None)
    status = device_timing.gpu_status()
    assert not status.available and status.message.startswith("CuPy is not installed: CPU only")


def test_timed_takes_the_median_after_warm_up():
    calls = []
    out, seconds = pb.timed(lambda: calls.append(1) or len(calls), 3, warmup=2)
    assert out == 5 and len(calls) == 5 and seconds >= 0
