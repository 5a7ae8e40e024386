"""``VideoDataset`` on small hand-made benchmarks: records, id lists, training behaviour, streams, options."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from tests.data.builders import C, E, K, ego4d_bench, features, mq, nlq, query_npz, video, write_json
from unimd_lib.config.data import DataConfig
from unimd_lib.data.dataset import VideoDataset
from unimd_lib.data.samplers import PlanSampler, individual_plan
from unimd_lib.data.torch_dataset import TorchVideoDataset, make_loader, make_sampler

TAD = {
    "b": video("training", 32.0, [mq(1.0, 4.0, 2), mq(10.0, 20.0, 0)]),
    "a": video("training", 16.0, [mq(2.0, 3.0, 1)]),
    "e": video("training", 16.0, []),
    "v": video("validation", 16.0, [mq(0.0, 8.0, 1)]),
}
MR = {
    "c": video("training", 16.0, [nlq(1.0, 2.0, "when did i sit?"), nlq(3.0, 3.0, "where is it.?", idx=1)]),
    "b": video("training", 32.0, [nlq(5.0, 9.0, "what did i eat?")]),
}


@pytest.fixture
def bench(tmp_path) -> DataConfig:
    return ego4d_bench(tmp_path, TAD, MR)


def test_sorted_id_lists_and_task_sets(bench):
    ds = VideoDataset(bench, "training", "all")
    assert ds.video_ids == ["a", "b", "c", "e"]
    assert (ds.ids.tad, ds.ids.mr, ds.ids.both) == (["a", "b", "e"], ["b", "c"], ["b"])
    assert (ds.ids.tad_only, ds.ids.mr_only) == (["a", "e"], ["c"])
    assert ds.indices("both") == [1] and ds.indices("mr_only") == [2]
    assert VideoDataset(bench, "training", "mr").video_ids == ["b", "c"]
    assert VideoDataset(bench, "validation", "tad").video_ids == ["v"]


def test_record_contents(bench):
    ds = VideoDataset(bench, "training", "all", training=False)
    rec = ds.record("b")
    steps = int(32.0 * 30 / 16)
    assert rec.feats.shape == (C, steps) and rec.feats.dtype == np.float32 and rec.tasks == ("tad", "mr")
    np.testing.assert_allclose(np.linalg.norm(rec.feats, axis=0), 1.0, rtol=1e-5)
    np.testing.assert_allclose(rec.tad.segments, [[1.375, 7.0], [18.25, 37.0]])  # t·30/16 − 0.5
    assert rec.tad.labels.tolist() == [2, 0] and rec.tad.embeddings.shape == (K, E)
    assert rec.tad.texts == ["action0", "action1", "action2"]  # names from the file's 'label' fields
    np.testing.assert_allclose(np.linalg.norm(rec.tad.embeddings, axis=1), 1.0, rtol=1e-5)
    assert rec.mr.texts == ["what did i eat?"] and rec.mr.labels.tolist() == [0]
    c = ds.record("c")
    assert c.mr.labels.tolist() == [0, 1] and c.mr.meta["zero_length"] == [False, True]
    assert c.mr.meta["annotation_idx"] == [0, 1] and c.mr.embeddings.shape == (2, E)
    assert ds.record("e").tad.segments.shape == (0, 2)  # evaluation keeps videos without GT


def test_training_leaves_empty_tasks_off(bench):
    ds = VideoDataset(bench, "training", "all")
    assert ds.training and ds.record("e").tasks == ()


def test_cache_reads_each_file_once(tmp_path, bench):
    ds = VideoDataset(bench, "training", "all", cache=True)
    first = ds.record("c")
    (tmp_path / "feats" / "c.npy").unlink()
    (tmp_path / "mr_emb" / "c.npz").unlink()
    np.testing.assert_array_equal(ds.record("c").feats, first.feats)


def test_second_stream_and_downsampling(tmp_path):
    cfg = ego4d_bench(
        tmp_path,
        TAD,
        None,
        feat_folder2="clip",
        feat_pattern2="{video_id}.npy",
        feat_dim2=4,
        input_dim=C + 4,
        downsample_rate=2,
    )
    for vid in TAD:
        features(tmp_path, vid, 20, dim=4, folder="clip")  # shorter than the first stream (60 steps for "b")
    rec = VideoDataset(cfg, "training", "tad").record("b")
    assert rec.feats.shape == (C + 4, 10) and rec.feat_stride == 32.0  # min(60, 20) = 20 steps, every 2nd
    np.testing.assert_allclose(np.linalg.norm(rec.feats[:C], axis=0), 1.0, rtol=1e-5)
    np.testing.assert_allclose(rec.tad.segments[0], [1.0 * 30 / 32 - 0.25, 4.0 * 30 / 32 - 0.25])


def test_force_upsampling_resizes_to_max_seq_len(tmp_path):
    cfg = ego4d_bench(tmp_path, TAD, None, force_upsampling=True, max_seq_len=128)
    rec = VideoDataset(cfg, "training", "tad").record("b")
    assert rec.length == 128 and rec.feat_stride == pytest.approx(32.0 * 30 / 128)
    np.testing.assert_allclose(rec.tad.segments[1], [10.0 / 32 * 128 - 0.5, 20.0 / 32 * 128 - 0.5])


def test_default_fps_overrides_the_json(tmp_path):
    cfg = ego4d_bench(tmp_path, TAD, None, default_fps=15.0)
    rec = VideoDataset(cfg, "training", "tad").record("b")
    assert rec.fps == 15.0
    np.testing.assert_allclose(rec.tad.segments[0], [1.0 * 15 / 16 - 0.5, 4.0 * 15 / 16 - 0.5])


def test_tolerated_issues_are_logged_once_with_count_and_examples(tmp_path, caplog):
    tad = {"x": video("training", 10.0, [mq(-1.0, 2.0, 0), mq(5.0, 12.0, 1), mq(3.0, 4.0, 1)])}
    cfg = ego4d_bench(tmp_path, tad, None)
    with caplog.at_level(logging.WARNING, logger="unimd_lib.data.dataset"):
        ds = VideoDataset(cfg, "training", "tad")
    assert ds.issues.counts["segments clipped to [0, duration]"] == 2
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "segments clipped to [0, duration]: 2" in warnings[0] and "video x, annotation 1 [5.0, 12.0]" in warnings[0]
    np.testing.assert_allclose(ds.record("x").tad.segments[:2], [[-0.5, 3.25], [8.875, 18.25]])
    # clip_to_duration: false keeps the original's values, still reported
    kept = VideoDataset(ego4d_bench(tmp_path, tad, None, clip_to_duration=False), "training", "tad")
    assert kept.issues.counts["segments kept outside [0, duration]"] == 2
    np.testing.assert_allclose(kept.record("x").tad.segments[1], [8.875, 22.0])


def test_anet_training_fix_drops_queries_past_the_feature_end(tmp_path):
    cap = {"v_x": {"duration": 20.0, "timestamps": [[1.0, 5.0], [19.0, 25.0], [6.0, 30.0]],
                   "sentences": ["a", "b", "c"]}}  # fmt: skip
    write_json(tmp_path / "cap.json", cap)
    d = {"adapter": "anet", "feat_folder": "feats", "input_dim": C, "feat_stride": 16, "num_frames": 16,
         "default_fps": 30, "max_seq_len": 64, "clip_to_duration": False,
         "mr": {"annotations": "cap.json", "embedding_folder": "mr_emb",
                "embedding_pattern": "{video_id}_{split}.npz"}}  # fmt: skip
    cfg = DataConfig.from_dict(d, tmp_path / "c.yaml", base_dir=tmp_path)
    features(tmp_path, "v_x", 30)  # 30 steps = 16 s: query b starts at grid 35.1 ≥ 30
    for split in ("training", "validation"):
        query_npz(tmp_path, "v_x", ["a", "b", "c"], rule="exact", name=f"v_x_{split}.npz")
    rec = VideoDataset(cfg, "training", "mr").record("v_x")
    assert rec.mr.texts == ["a", "c"] and rec.mr.labels.tolist() == [0, 1] and rec.mr.embeddings.shape == (2, E)
    np.testing.assert_allclose(rec.mr.segments, [[1.375, 8.875], [10.75, 30.0]])  # end clamped to T
    val = VideoDataset(cfg, "validation", "mr").record("v_x")
    assert val.mr.texts == ["a", "b", "c"] and len(val.mr.segments) == 3


def test_torch_wrapper_crops_reproducibly_and_collates(bench):
    ds = VideoDataset(bench, "training", "all")
    data = TorchVideoDataset(ds, seed=3)
    data.set_epoch(2)
    a, b = data[1], data[1]
    np.testing.assert_array_equal(a.feats, b.feats)
    assert a.length <= ds.record("b").length
    sampler = PlanSampler(lambda e: individual_plan(list(range(len(ds))), 2, seed=0, epoch=e))
    batches = list(make_loader(data, sampler, training=True))
    assert len(batches) == len(sampler) == 2
    assert all(b is None or b.feats.shape[2] == bench.max_seq_len for b in batches)
    val = make_loader(TorchVideoDataset(VideoDataset(bench, "validation", "tad")), training=False)
    (only,) = list(val)
    assert only.video_ids == ["v"] and only.tad.segments[0].shape == (1, 2)


def test_make_sampler_per_scheme(bench):
    union = VideoDataset(bench, "training", "all")
    steps = make_sampler(union, "sync", 1, seed=0).steps()
    # tad-only {a, e}, mr-only {c}, both {b}: m = 1 → 1 diff step (a or e, then c) + 1 both step (b)
    assert sorted(s.kind for s in steps) == ["both", "diff"]
    assert {union.video_ids[i] for s in steps if s.kind == "both" for i in s.indices} == {"b"}
    assert len(make_sampler(union, "random", 2, seed=0)) == 2  # floor(4 / 2) over the union
    assert len(make_sampler(VideoDataset(bench, "training", "tad"), "individual", 2, seed=0)) == 1
    with pytest.raises(ValueError, match="tasks='all'"):
        make_sampler(VideoDataset(bench, "training", "tad"), "sync", 1, seed=0)
