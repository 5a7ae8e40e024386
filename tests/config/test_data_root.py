"""``data_root`` as a user guesses it (the folder holding data/, data/ itself, or the benchmark folder), an error
that names the expected folder otherwise, and the annotations-only switch ``data.require_features``."""

from __future__ import annotations

import pytest

from tests.annotation_roots import annotations_only_root
from unimd_lib.config.load import load_config
from unimd_lib.config.overrides import parse_overrides
from unimd_lib.data.dataset import VideoDataset
from unimd_lib.errors import DataError
from unimd_lib.views.dataset_explore import explore_benchmark


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return annotations_only_root(tmp_path_factory.mktemp("root"), "ego4d")


@pytest.mark.parametrize("where", [".", "data", "data/ego4d"])
def test_data_root_may_be_the_benchmark_folder(root, where):
    cfg = load_config("ego4d", data_root=root / where)
    mq = root / "data/ego4d/mq/clip_annotations_not_filter.json"
    assert cfg.data.tad.annotations["training"] == mq and mq.is_file()
    assert cfg.data.feat_folder == root / "data/ego4d/features"  # every path of the benchmark moves alike
    assert cfg.resolve(cfg.eval.mr_gt) == root / "data/ego4d/nlq/nlq_val.json"


def test_benchmark_folder_under_another_name(root, tmp_path):
    mine = tmp_path / "my_ego4d_annotations"
    mine.mkdir()
    for sub in ("mq", "nlq"):
        (mine / sub).symlink_to(root / "data" / "ego4d" / sub)
    cfg = load_config("ego4d", data_root=mine)
    assert cfg.data.mr.annotations["validation"] == mine / "nlq/clip_annotations_not_filter.json"


def test_a_wrong_data_root_names_the_expected_folder(tmp_path):
    cfg = load_config("ego4d", data_root=tmp_path)  # loading alone does not need the files
    with pytest.raises(DataError) as err:
        explore_benchmark(cfg)
    msg = str(err.value)
    assert f"'{tmp_path}' should hold data/ego4d/mq/clip_annotations_not_filter.json" in msg
    assert "data_root is the folder that holds data/" in msg and "data/ego4d/ itself, holding mq/" in msg


def test_require_features_false_reads_annotations_alone(root):
    with pytest.raises(DataError, match="ego4d_mq_classifier.npz.*file not found"):
        VideoDataset(load_config("ego4d", data_root=root).data, "validation")  # the stop
    cfg = load_config("ego4d", data_root=root, overrides=parse_overrides(["data.require_features=false"]))
    ds = VideoDataset(cfg.data, "validation")
    assert ds.class_embeddings is None and len(ds.ids.tad) == 528 and len(ds.ids.mr) == 328
    assert not ds.has_features(ds.video_ids[0])
    with pytest.raises(DataError, match="ego4d_mq_classifier.npz.*class embeddings: file not found"):
        ds.record(ds.ids.tad[0])  # a record still needs its files, and says which
    with pytest.raises(DataError, match=r"features/.*\.npy.*file not found"):
        ds.record(ds.ids.mr_only[0])
