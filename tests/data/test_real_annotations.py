"""Adapters over the real annotation files in ../shared/annotations; expected counts from spec §6.6 / §7 and
the annotations README. Feature files are not needed for counts (``check_files=False``); records are built
for single videos with small generated features."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import shared_path
from tests.data.builders import class_npz, features
from unimd_lib.config.data import DataConfig
from unimd_lib.data.benchmarks import load_mr, load_tad
from unimd_lib.data.dataset import VideoDataset
from unimd_lib.data.samplers import individual_plan, sync_plan
from unimd_lib.data.segments import IssueLog, dedup_mask
from unimd_lib.formats.database import read_database


def ann(*parts: str) -> str:
    return str(shared_path("annotations", *parts))


def ego4d_cfg(tmp_path) -> DataConfig:
    mq, nlq = (
        ann("ego4d", "mq", "clip_annotations_not_filter.json"),
        ann("ego4d", "nlq", "clip_annotations_not_filter.json"),
    )
    d = {
        "adapter": "ego4d", "feat_folder": "feats", "input_dim": 8, "feat_stride": 16, "num_frames": 16,
        "max_seq_len": 1024, "test_split": "test",
        "tad": {"annotations": {"training": mq, "validation": mq,
                                "test": ann("ego4d", "mq", "clip_annotations_test_no_gt.json")},
                "num_classes": 110, "class_embeddings": str(class_npz(tmp_path, k=110))},
        "mr": {"annotations": {"training": nlq, "validation": nlq,
                               "test": ann("ego4d", "nlq", "clip_annotations_test_no_gt.json")},
               "embedding_folder": "mr_emb"},
    }  # fmt: skip
    return DataConfig.from_dict(d, tmp_path / "c.yaml", base_dir=tmp_path)


def n_segments(task) -> int:
    return sum(len(v.segments) for v in task.videos.values())


@pytest.mark.parametrize("split, videos, instances", [("training", 1506, 14243), ("validation", 528, 4556)])
def test_ego4d_mq(tmp_path, split, videos, instances):
    tad = load_tad(ego4d_cfg(tmp_path), split, IssueLog())
    assert (len(tad.videos), n_segments(tad)) == (videos, instances)  # zero-length instances are kept
    assert len(set(tad.class_names)) == 110 and "use_a_vacuum_cleaner_to_clean" in tad.class_names


@pytest.mark.parametrize("split, clips, queries, zero", [("training", 998, 11291, 966), ("validation", 328, 3874, 342)])
def test_ego4d_nlq(tmp_path, split, clips, queries, zero):
    log = IssueLog()
    mr = load_mr(ego4d_cfg(tmp_path), split, log)
    assert (len(mr.videos), sum(len(v.texts) for v in mr.videos.values()), n_segments(mr)) == (clips, queries, queries)
    assert log.counts["zero-length segments kept (never positive)"] == zero
    if split != "training":
        return
    v = mr.videos["fae92e70-88aa-4b77-b41a-5879b74c804c"]
    assert v.texts[1] == "what colour bowl did i carry from the plate stand.?"
    assert list(v.labels[:3]) == [0, 1, 2] and v.meta["annotation_idx"][:2] == [0, 1]
    assert v.meta["annotation_uid"][0] == "f3083484-a6c0-45cb-a40c-b1c2cb470443"


def test_ego4d_test_split_has_queries_without_segments(tmp_path):
    cfg = ego4d_cfg(tmp_path)
    tad, mr = load_tad(cfg, "test", IssueLog()), load_mr(cfg, "test", IssueLog())
    assert (len(tad.videos), n_segments(tad)) == (488, 0)
    assert (len(mr.videos), sum(len(v.texts) for v in mr.videos.values()), n_segments(mr)) == (333, 4004, 0)


@pytest.mark.parametrize(
    "split, both, tad_only, mr_only, random_iters, diff_steps, both_steps",
    [("training", 17, 1489, 981, 1243, 490, 8), ("validation", 7, 521, 321, None, None, None)],
)
def test_ego4d_id_lists_and_cotraining_iterations(tmp_path, split, both, tad_only, mr_only, random_iters,
                                                  diff_steps, both_steps):  # fmt: skip
    ds = VideoDataset(ego4d_cfg(tmp_path), split, "all", check_files=False)
    assert (len(ds.ids.both), len(ds.ids.tad_only), len(ds.ids.mr_only)) == (both, tad_only, mr_only)
    assert ds.video_ids == sorted(ds.video_ids) and len(ds) == both + tad_only + mr_only
    if random_iters is None:
        return
    assert len(individual_plan(ds.indices("union"), 2, seed=1, epoch=0)) == random_iters  # spec §7.2
    steps = sync_plan(ds.indices("tad_only"), ds.indices("mr_only"), ds.indices("both"), 2, seed=1, epoch=0)
    kinds = [s.kind for s in steps]
    assert (kinds.count("diff"), kinds.count("both")) == (diff_steps, both_steps)  # spec §7.3


@pytest.mark.parametrize("split, kept", [("training", 13947), ("validation", 4439)])
def test_dedup_rule_reproduces_the_evaluator_counts(split, kept):
    a = read_database(ann("ego4d", "mq", "clip_annotations_not_filter.json")).subset(split).annotations
    total = 0
    for _, g in a.groupby("video_id", sort=False):
        total += int(dedup_mask(g[["t_start", "t_end"]].to_numpy(), g["label_id"].to_numpy()).sum())
    assert total == kept  # spec §6.6: "13947 / 4439 after the evaluator's de-duplication"


def test_ego4d_record_on_the_grid(tmp_path):
    cfg = ego4d_cfg(tmp_path)
    vid = "80ed8c17-bfbf-4fda-9e71-1fa8ddef35b1"  # duration 480.53, first instance [5.97, 202.39] label 98
    features(tmp_path, vid, 900)
    ds = VideoDataset(cfg, "training", "tad", check_files=False)
    rec = ds.record(vid)
    assert rec.feats.shape == (8, 900) and (rec.fps, rec.feat_stride, rec.num_frames) == (30.0, 16.0, 16.0)
    np.testing.assert_allclose(rec.tad.segments[0], [5.97 * 30 / 16 - 0.5, 202.39 * 30 / 16 - 0.5], rtol=1e-6)
    assert rec.tad.labels[0] == 98 and rec.tad.embeddings.shape == (110, 6)
    np.testing.assert_allclose(np.linalg.norm(rec.feats, axis=0), 1.0, rtol=1e-5)


def charades_cfg(tmp_path, tad_format: str) -> DataConfig:
    tad_file = (
        ann("charades", "Charades_v1_test.csv")
        if tad_format == "charades_csv"
        else ann("derived", "charades_v1_test_anet_format.json")
    )
    d = {
        "adapter": "charades", "feat_folder": "feats", "feat_pattern": "{video_id}_rgb_flow.npy", "input_dim": 8,
        "feat_stride": 4, "num_frames": 16, "default_fps": 24, "max_seq_len": 288, "train_split": "Train",
        "val_split": "Test",
        "tad": {"annotations": {"Test": tad_file}, "format": tad_format, "num_classes": 157,
                "class_embeddings": str(class_npz(tmp_path, k=157, transposed=True)), "embeddings_transposed": True},
        "mr": {"annotations": {"Test": ann("derived", "charades_sta_constructed_public.json")},
               "embedding_folder": "mr_emb"},
    }  # fmt: skip
    return DataConfig.from_dict(d, tmp_path / "c.yaml", base_dir=tmp_path)


def test_charades_csv_and_converted_json_give_the_same_annotations(tmp_path):
    log_csv, log_json = IssueLog(), IssueLog()
    csv = load_tad(charades_cfg(tmp_path, "charades_csv"), "Test", log_csv)
    js = load_tad(charades_cfg(tmp_path, "database"), "Test", log_json)
    assert (len(csv.videos), n_segments(csv)) == (1863, 16691)
    assert sum(len(v.segments) == 0 for v in csv.videos.values()) == 49
    assert len({int(x) for v in csv.videos.values() for x in v.labels}) == 157
    assert list(csv.videos) == list(js.videos)
    for vid in csv.videos:
        np.testing.assert_array_equal(csv.videos[vid].segments, js.videos[vid].segments)
        np.testing.assert_array_equal(csv.videos[vid].labels, js.videos[vid].labels)
    assert log_csv.counts == log_json.counts


def test_charades_sta_and_sync_without_mr_only_videos(tmp_path):
    log = IssueLog()
    cfg = charades_cfg(tmp_path, "charades_csv")
    mr = load_mr(cfg, "Test", log)
    assert (len(mr.videos), n_segments(mr)) == (400, 1035)
    assert log.counts["segments clipped to [0, duration]"] == 346  # annotations README: 346 ends > duration
    ds = VideoDataset(cfg, "Test", "all", check_files=False)
    assert ds.ids.mr_only == [] and len(ds.ids.both) == 400  # spec §7.3: STA videos are Charades videos
    steps = sync_plan(ds.indices("tad_only"), ds.indices("mr_only"), ds.indices("both"), 2, seed=0, epoch=0)
    assert {s.kind for s in steps} == {"both"} and len(steps) == 200  # TAD-only videos are never seen


def test_charades_record_fps_24_grid(tmp_path):
    cfg = charades_cfg(tmp_path, "charades_csv")
    features(tmp_path, "YSKX3_rgb_flow", 100)  # YSKX3: length 16.62 s, first action c077 [12.1, 18.0]
    rec = VideoDataset(cfg, "Test", "tad", check_files=False).record("YSKX3")
    assert rec.fps == 24.0 and rec.tad.embeddings.shape == (157, 6)
    np.testing.assert_allclose(rec.tad.segments[0], [12.1 * 6 - 2, 16.62 * 6 - 2], rtol=1e-6)  # end clipped
    assert rec.tad.labels[0] == 77


def anet_cfg(tmp_path) -> DataConfig:
    d = {
        "adapter": "anet", "feat_folder": "feats", "input_dim": 8, "feat_stride": 16, "num_frames": 16,
        "default_fps": 30, "max_seq_len": 768, "val_split": "validationV2",
        "tad": {"annotations": ann("derived", "anet13_val_derived.json"), "num_classes": 1,
                "class_embeddings": str(class_npz(tmp_path, k=200)), "average_embeddings": True},
        "mr": {"annotations": {"validationV1": ann("anet", "captiondata", "val_1.json"),
                               "validationV2": ann("anet", "captiondata", "val_2.json")},
               "embedding_folder": "mr_emb", "embedding_pattern": "{video_id}_{split}.npz"},
    }  # fmt: skip
    return DataConfig.from_dict(d, tmp_path / "c.yaml", base_dir=tmp_path)


def test_anet_tad_ids_dedup_and_class_agnostic(tmp_path):
    cfg = anet_cfg(tmp_path)
    log = IssueLog()
    tad = load_tad(cfg, "validationV2", log)
    assert len(tad.videos) == 4728 and all(v.startswith("v_") for v in tad.videos)
    assert log.counts["duplicate / <1e-3 s TAD events dropped"] > 0 and n_segments(tad) <= 7293
    assert n_segments(tad) + log.counts["duplicate / <1e-3 s TAD events dropped"] == 7293
    assert tad.class_names == ["action"] and all((v.labels == 0).all() for v in tad.videos.values())
    assert all((np.diff(v.segments, axis=1) >= 1e-3).all() for v in tad.videos.values())
    assert len(load_tad(cfg, "training", IssueLog()).videos) == 100


@pytest.mark.parametrize(
    "split, videos, sentences, past_end", [("validationV2", 4885, 17031, 111), ("validationV1", 4917, 17505, 134)]
)
def test_anet_captions(tmp_path, split, videos, sentences, past_end):
    log = IssueLog()
    mr = load_mr(anet_cfg(tmp_path), split, log)
    assert (len(mr.videos), sum(len(v.texts) for v in mr.videos.values())) == (videos, sentences)
    assert log.counts["segments clipped to [0, duration]"] == past_end
    if split != "validationV2":
        return
    v = mr.videos["v_uqiMw7tQ1Cc"]
    assert v.texts[1].startswith(" One man is holding")  # leading space kept (exact rule)
    np.testing.assert_array_equal(v.segments, [[0, 4.14], [4.14, 33.36], [33.36, 55.15]])


def test_anet_dataset_record_average_query(tmp_path):
    cfg = anet_cfg(tmp_path)
    features(tmp_path, "v_---9CpRcKoU", 26)  # derived file: training video, 14.07 s, [0.01, 12.64]
    ds = VideoDataset(cfg, "training", "tad", check_files=False)
    rec = ds.record("v_---9CpRcKoU")
    assert rec.tad.embeddings.shape == (1, 6) and np.linalg.norm(rec.tad.embeddings) < 1.0  # mean, not renormalised
    np.testing.assert_allclose(rec.tad.segments, [[0.01 * 30 / 16 - 0.5, 12.644405017160688 * 30 / 16 - 0.5]])
