"""Data exploration (views.dataset_explore / dataset_stats / dataset_figures): the real annotation files of the
three paired benchmarks alone, in the presets' layout, give the spec's counts (spec §6.6, annotations README);
with the features present, the feature-length and grid figures are drawn; hand-made cases check the overlap,
pairing and word statistics."""

from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from tests.annotation_roots import PRESETS, annotations_only_root
from tests.conftest import shared_path
from unimd_lib.config.load import load_config
from unimd_lib.data.segments import TaskAnnotations, VideoAnnotation
from unimd_lib.views import dataset_figures as figures
from unimd_lib.views import dataset_stats as stats
from unimd_lib.views.dataset_explore import explore_benchmark, split_summary


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    """Each benchmark explored once from its annotation files alone."""
    cache = {}

    def get(name: str):
        if name not in cache:
            root = annotations_only_root(tmp_path_factory.mktemp(name), name)
            cache[name] = explore_benchmark(load_config(PRESETS[name], data_root=root))
        return cache[name]

    return get


def counts(b, split: str, task: str) -> tuple:
    row = split_summary(b).loc[(split, task)]
    return tuple(int(row[k]) if pd.notna(row[k]) else None for k in ("videos", "segments", "queries", "classes"))


@pytest.mark.parametrize(
    "split, task, want, zero, empty",
    [
        ("training", "TAD", (1506, 14243, None, 110), 280, 15),
        ("validation", "TAD", (528, 4556, None, 110), 109, 6),
        ("test", "TAD", (488, 0, None, 0), 0, 488),
        ("training", "MR", (998, 11291, 11291, None), 966, 0),
        ("validation", "MR", (328, 3874, 3874, None), 342, 0),
        ("test", "MR", (333, 0, 4004, None), 0, 333),
    ],
)
def test_ego4d_counts_equal_the_spec(bench, split, task, want, zero, empty):
    b = bench("ego4d")
    assert counts(b, split, task) == want
    row = split_summary(b).loc[(split, task)]
    assert (row["zero-length"], row["videos without segments"], row["with features"]) == (zero, empty, 0)


@pytest.mark.parametrize("split, both, tad_only, mr_only", [("training", 17, 1489, 981), ("validation", 7, 521, 321)])
def test_ego4d_pairing_and_durations(bench, split, both, tad_only, mr_only):
    t = bench("ego4d").tables(split)
    p = stats.pairing_summary(t)[split]
    assert (p["videos with both"], p["videos TAD only"], p["videos MR only"]) == (both, tad_only, mr_only)


def test_ego4d_durations(bench):
    v = pd.concat([bench("ego4d").tables(s).videos for s in ("training", "validation")])
    mq, nlq = v.loc[v["has_tad"], "duration"], v.loc[v["has_mr"], "duration"]
    assert (mq.min(), mq.max()) == (182.4, 480.53)  # spec §6.6: "durations 182.4–480.53 s", "207–1200.6 s"
    assert (round(nlq.min()), round(nlq.max(), 1)) == (207, 1200.6)


def test_ego4d_without_features_says_why(bench):
    b = bench("ego4d")
    assert b.default_split == "training" and b.missing.empty
    assert any("ego4d_mq_classifier.npz" in n for n in b.notes)
    note = b.feature_note()
    assert "no feature files" in note and note.endswith("(annotations only)")
    fig = figures.feature_length_figure(b.tables(), note)
    assert "not shown" in fig.layout.title.text and note in fig.layout.annotations[0].text.replace("<br>", " ")
    vid = stats.example_video(b.tables())
    grid = figures.grid_alignment_or_reason(b.datasets["training"], vid)
    text = grid.layout.annotations[0].text.replace("<br>", " ")
    assert "not shown" in grid.layout.title.text and f"features/{vid}.npy not found" in text


def test_segment_lengths_plot_for_papers(bench):
    from unimd_lib.views.dataset_static import segment_lengths_plot

    fig = segment_lengths_plot(bench("ego4d").tables(), {"tad": "MQ", "mr": "NLQ"})
    seconds, relative = fig.axes
    assert seconds.get_xscale() == relative.get_xscale() == "log"
    legend = [t.get_text() for t in seconds.get_legend().get_texts()]
    median = {}
    for task in ("mq", "nlq"):  # straight from the json, for an independent median
        db = json.loads(shared_path("annotations", "ego4d", task, "clip_annotations_not_filter.json").read_text())
        lengths = [a["segment"][1] - a["segment"][0] for v in db["database"].values() if v["subset"] == "training"
                   for a in v["annotations"]]  # fmt: skip
        median[task] = f"{np.median(lengths):.3g}"
    assert legend == [f"MQ: 14,243 segments, median {median['mq']} s (280 zero-length)",
                      f"NLQ: 11,291 segments, median {median['nlq']} s (966 zero-length)"]  # fmt: skip


def test_charades_counts_and_missing_train_files(bench):
    b = bench("charades")
    assert counts(b, "Test", "TAD") == (1863, 16691, None, 157)
    assert counts(b, "Test", "MR") == (400, 1035, 1035, None)  # the constructed Charades-STA stand-in
    assert split_summary(b).loc[("Test", "TAD"), "videos without segments"] == 49
    assert b.default_split == "Test" and list(b.splits) == ["Test"]
    assert sorted(b.missing["task"]) == ["MR", "TAD"] and set(b.missing["split"]) == {"Train"}
    assert stats.pairing_summary(b.tables())["Test"]["videos MR only"] == 0  # STA videos are Charades videos
    freq = stats.class_frequencies(b.tables())
    assert len(freq) == 157 and freq["count"].sum() == 16691 and freq["count"].is_monotonic_decreasing


def test_anet_counts_keep_the_file_classes(bench):
    b = bench("anet")
    s = split_summary(b)
    tad = s.loc[("validationV2", "TAD")]
    dropped = 7293 - int(tad["segments"])  # the ANet rule drops duplicates and < 1e-3 s events (spec §6.4)
    assert (tad["videos"], tad["classes"]) == (4728, 200) and 0 < dropped < 50
    assert s.loc[("validationV1", "TAD"), "segments"] == tad["segments"]  # V1 and V2 read subset 'validation'
    assert counts(b, "validationV2", "MR") == (4885, 17031, 17031, None)
    assert counts(b, "validationV1", "MR") == (4917, 17505, 17505, None)
    assert counts(b, "training", "TAD")[0] == 100 and ("training", "MR") not in s.index
    assert b.default_split == "validationV2"  # training lacks its MR file
    assert "Playing ten pins" in set(stats.class_frequencies(b.tables())["name"])


@pytest.fixture
def synthetic_cfg(tmp_path):
    from unimd_lib.tools.notebook_support import notebook_config

    return notebook_config(None, synthetic_dir=tmp_path, quick=True)


def test_with_features_the_feature_figures_are_drawn(synthetic_cfg):
    b = explore_benchmark(synthetic_cfg)
    t = b.tables()
    assert b.feature_note() is None and t.videos["has_features"].all()
    first = t.videos.iloc[0]
    on_disk = np.load(b.datasets[t.split].feature_streams(first["video_id"])[0].path).shape[0]
    assert first["num_steps"] == on_disk
    fig = figures.feature_length_figure(t)
    assert fig.data and "not shown" not in fig.layout.title.text
    grid = figures.grid_alignment_or_reason(b.datasets[t.split], stats.example_video(t))
    assert "grid point g" in {d.name for d in grid.data}


def test_some_features_missing_are_counted(synthetic_cfg):
    ds_folder = synthetic_cfg.data.feat_folder
    removed = sorted(ds_folder.iterdir())[0]
    shutil.move(removed, removed.with_suffix(".bak"))
    b = explore_benchmark(synthetic_cfg)
    t = b.tables()
    n = len(t.videos)
    assert int((~t.videos["has_features"]).sum()) == 1
    assert f"1 of {n} videos" in b.feature_note()
    assert "not shown" not in figures.feature_length_figure(t).layout.title.text
    synthetic_cfg.data.tad.class_embeddings.unlink()  # features there, embeddings not: the grid says so
    ds = explore_benchmark(synthetic_cfg).datasets[t.split]
    grid = figures.grid_alignment_or_reason(ds, t.videos.loc[t.videos["has_features"], "video_id"].iloc[0])
    assert "needs the text embeddings" in grid.layout.annotations[0].text


def _dataset(tad: dict, mr: dict) -> SimpleNamespace:
    def ann(task, videos):
        out = {}
        for vid, (segs, labels, texts) in videos.items():
            out[vid] = VideoAnnotation(vid, 100.0, 30.0, np.array(segs, float).reshape(-1, 2), np.array(labels), texts)
        return TaskAnnotations(task, "x", "s", out, ["open", "close"] if task == "tad" else None)

    return SimpleNamespace(tad=ann("tad", tad), mr=ann("mr", mr), split="s", has_features=lambda v: False)


def test_overlap_pairing_and_words_by_hand():
    ds = _dataset(
        tad={"a": ([[0, 10], [5, 15], [50, 60]], [0, 0, 1], []), "b": ([[0, 20]], [1], [])},
        mr={"a": ([[6, 9], [80, 90]], [0, 1], ["The man opens the door", "a man closes a box"]),
            "c": ([[1, 2]], [0], ["door opens"])},
    )  # fmt: skip
    t = stats.annotation_tables(ds)
    tad = t.task("tad").set_index(["video_id", "t_start"])
    assert tad.loc[("a", 0), "max_tiou"] == pytest.approx(5 / 15) and tad.loc[("a", 0), "overlaps_same"]
    assert not tad.loc[("a", 50), "overlaps"] and not tad.loc[("b", 0), "overlaps"]
    ov = stats.overlap_statistics(t)
    assert ov.loc["TAD", "overlapping another"] == pytest.approx(2 / 4) and ov.loc["MR", "overlapping another"] == 0
    p = stats.pairing_summary(t)["s"]
    assert (p["videos with both"], p["videos TAD only"], p["videos MR only"]) == (1, 1, 1)
    # video a: [6, 9] lies in both TAD segments (best tIoU 3/10), [80, 90] in none
    assert p["… overlapping a TAD segment"] == 0.5 and p["… mean best tIoU with a TAD segment"] == pytest.approx(0.15)
    words = stats.word_frequencies(t).set_index("word")
    assert words.loc["man", "count"] == 2 and words.loc["door", "queries"] == 2 and "the" not in words.index
    assert t.task("mr")["num_words"].tolist() == [5, 5, 2]
    assert stats.class_frequencies(t)[["name", "count"]].values.tolist() == [["close", 2], ["open", 2]]  # ties by name
