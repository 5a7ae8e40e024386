"""Ground-truth files are parsed once per run: ``formats.files.read_once`` remembers a read while the file is
unchanged, and scoring a run's predictions every epoch goes through it (GT, NLQ clip list)."""

from __future__ import annotations

import os

import pytest

from unimd_lib.errors import DataError
from unimd_lib.eval import protocols
from unimd_lib.formats.files import read_json, read_once


class Counting:
    def __init__(self, reader):
        self.reader, self.calls = reader, 0

    def __call__(self, *args):
        self.calls += 1
        return self.reader(*args)


def test_read_once_remembers_until_the_file_changes(tmp_path):
    path = tmp_path / "gt.json"
    path.write_text('{"a": 1}')
    reader = Counting(read_json)
    assert read_once(reader, path) == read_once(reader, str(path)) == {"a": 1}
    assert reader.calls == 1
    path.write_text('{"a": 22}')
    os.utime(path, ns=(1, 1))  # a new modification time, whatever the clock's resolution
    assert read_once(reader, path) == {"a": 22} and reader.calls == 2
    assert read_once(reader, path) == {"a": 22} and reader.calls == 2


def test_read_once_keys_on_the_arguments_and_leaves_errors_to_the_reader(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("x")
    reader = Counting(lambda p, split: (p.name if hasattr(p, "name") else p, split))
    read_once(reader, path, "validation")
    read_once(reader, path, "training")
    read_once(reader, path, "validation")
    assert reader.calls == 2
    with pytest.raises(DataError, match=r"missing\.json"):
        read_once(read_json, tmp_path / "missing.json")


@pytest.fixture(scope="module")
def synthetic_cfg(tmp_path_factory):
    from unimd_lib.config.load import load_config
    from unimd_lib.data.synthetic import SyntheticSpec, generate

    root = tmp_path_factory.mktemp("bench")
    generate(root, SyntheticSpec(num_videos=12))
    return load_config(root / "config.yaml")


def test_scoring_every_epoch_parses_the_ground_truth_once(synthetic_cfg, monkeypatch):
    from unimd_lib.data.dataset import VideoDataset
    from unimd_lib.train import evaluate as train_evaluate
    from unimd_lib.train.baseline import prior_baseline

    cfg = synthetic_cfg
    train = VideoDataset(cfg.data, cfg.data.train_split, "all", check_files=False)
    val = VideoDataset(cfg.data, cfg.data.val_split, "all", training=False)
    preds = prior_baseline(train, val)
    gt = Counting(protocols.read_detection_ground_truth)
    nlq_gt = Counting(protocols.read_nlq_official)
    clips = Counting(train_evaluate.read_database)
    monkeypatch.setattr(protocols, "read_detection_ground_truth", gt)
    monkeypatch.setattr(protocols, "read_nlq_official", nlq_gt)
    monkeypatch.setattr(train_evaluate, "read_database", clips)
    first = train_evaluate.evaluate_predictions(cfg, preds)
    for _ in range(2):  # two more "epochs"
        assert train_evaluate.evaluate_predictions(cfg, preds) == first
    assert {"tad/average_mAP", "mr/R1@0.30"} <= set(first)
    assert (gt.calls, nlq_gt.calls, clips.calls) == (1, 1, 1)
