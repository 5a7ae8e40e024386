"""``DataConfig.from_dict``: the four real benchmarks' sections, path resolution, YAML quirks, bad keys."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from unimd_lib.config.data import DataConfig
from unimd_lib.errors import ConfigError

EGO4D = """
adapter: ego4d
feat_folder: data/ego4d/features/internvideo_verb
feat_pattern: "{video_id}.npy"
input_dim: 1024
text_dim: 512
feat_stride: 16
num_frames: 16
default_fps: ""          # original YAML: falsy → fps from the json (30)
max_seq_len: 1024
trunc_thresh: 0.5
crop_ratio: [0.9, 1.0]
train_split: ['training']
val_split: validation
test_split: test
tad:
  annotations:
    training: data/ego4d/mq/clip_annotations_not_filter.json
    validation: data/ego4d/mq/clip_annotations_not_filter.json
    test: data/ego4d/mq/clip_annotations_test_no_gt.json
  num_classes: 110
  class_embeddings: data/ego4d/text/ego4d_mq_classifier.npz
mr:
  annotations:
    training: data/ego4d/nlq/clip_annotations_not_filter.json
    validation: data/ego4d/nlq/clip_annotations_not_filter.json
    test: data/ego4d/nlq/clip_annotations_test_no_gt.json
  embedding_folder: data/ego4d/text/nlq_weights
"""

CHARADES_I3D = """
adapter: charades
feat_folder: data/charades/i3d
feat_pattern: "{video_id}_rgb_flow.npy"
input_dim: 2048
text_dim: 512
feat_stride: 4
num_frames: 16
default_fps: 24
max_seq_len: 288
train_split: Train
val_split: Test
tad:
  annotations: {Train: data/charades/Charades_v1_train.csv, Test: data/charades/Charades_v1_test.csv}
  format: charades_csv
  num_classes: 157
  class_embeddings: data/charades/text/tad_cls_weight_1template_noPrefix_157cls.npz
  embeddings_transposed: true
mr:
  annotations: {Train: data/charades/charades_sta_train.json, Test: data/charades/charades_sta_test.json}
  embedding_folder: data/charades/text/mr_weights
"""

CHARADES_I3D_CLIP = CHARADES_I3D.replace("input_dim: 2048", "input_dim: 2560") + (
    "feat_folder2: data/charades/clip\nfeat_pattern2: '{video_id}.npz'\nfeat_dim2: 512\n"
)

ANET = """
adapter: anet
feat_folder: data/anet/internvideo
input_dim: 1280
text_dim: 512
feat_stride: 16
num_frames: 16
default_fps: 30
max_seq_len: 768
train_split: training
val_split: validationV2
force_upsampling: false
tad:
  annotations: data/anet/anet-1.3/anet1.3_tsp_filtered.json
  num_classes: 1
  class_embeddings: data/anet/text/anet_tad_200cls_classifier.npz
  average_embeddings: true
mr:
  annotations:
    training: data/anet/captiondata/train_modified.json
    validationV1: data/anet/captiondata/val_1.json
    validationV2: data/anet/captiondata/val_2.json
  embedding_folder: data/anet/text/mr_weights
  embedding_pattern: "{video_id}_{split}.npz"
"""


def parse(text: str, base: Path = Path("/proj")) -> DataConfig:
    return DataConfig.from_dict(yaml.safe_load(text), base / "configs" / "x.yaml", base_dir=base)


def test_ego4d_section_and_adapter_defaults():
    cfg = parse(EGO4D)
    assert cfg.default_fps is None and cfg.train_split == "training"
    assert cfg.feat_folder == Path("/proj/data/ego4d/features/internvideo_verb")
    assert cfg.tad.annotations["test"] == Path("/proj/data/ego4d/mq/clip_annotations_test_no_gt.json")
    assert (cfg.tad.format, cfg.mr.format, cfg.mr.text_rule) == ("database", "database", "ego4d")
    assert cfg.crop_ratio == (0.9, 1.0) and cfg.downsample_rate == 1 and cfg.clip_to_duration


def test_charades_sections():
    i3d, clip = parse(CHARADES_I3D), parse(CHARADES_I3D_CLIP)
    assert i3d.default_fps == 24.0 and i3d.tad.embeddings_transposed and i3d.mr.text_rule == "exact"
    assert i3d.feat_folder2 is None and i3d.feat_dim1 == 2048
    assert (clip.input_dim, clip.feat_dim1, clip.feat_dim2) == (2560, 2048, 512)
    assert clip.feat_folder2 == Path("/proj/data/charades/clip")


def test_anet_section():
    cfg = parse(ANET)
    assert cfg.default_fps == 30.0 and cfg.tad.average_embeddings and cfg.tad.num_classes == 1
    assert cfg.mr.format == "captions" and cfg.mr.embedding_pattern == "{video_id}_{split}.npz"
    assert set(cfg.tad.annotations) == {"*"}  # one file for every split (filtered by subset)


def test_round_trip_through_to_dict(tmp_path):
    cfg = parse(CHARADES_I3D_CLIP, base=tmp_path)
    again = DataConfig.from_dict(cfg.to_dict(relative_to=tmp_path), tmp_path / "c.yaml", base_dir=tmp_path)
    assert again == cfg
    assert cfg.to_dict(relative_to=tmp_path)["feat_folder"] == "data/charades/i3d"


def test_yaml_none_string_means_unset():
    cfg = parse(EGO4D + "feat_folder2: None\n")  # the original's `clip_feats_dir: None` parses as a string
    assert cfg.feat_folder2 is None


@pytest.mark.parametrize(
    "edit, key, message",
    [
        (lambda d: d.update(feat_stirde=4), "data.feat_stirde", "unknown key"),
        (lambda d: d["tad"].update(class_embedding="x.npz"), "data.tad.class_embedding", "unknown key"),
        (lambda d: d.pop("input_dim"), "data.input_dim", "missing required key"),
        (lambda d: d["tad"].pop("num_classes"), "data.tad.num_classes", "missing required key"),
        (lambda d: d.update(adapter="thumos"), "data.adapter", "expected one of"),
        (lambda d: d.update(max_seq_len="1024"), "data.max_seq_len", "expected an integer"),
        (lambda d: d.update(force_upsampling="no"), "data.force_upsampling", "expected true/false"),
        (lambda d: d.update(crop_ratio=[1.0, 0.9]), "data.crop_ratio", "need 0 < lo <= hi <= 1"),
        (lambda d: d.update(feat_pattern="{vid}.npy"), "data.feat_pattern", "may only use"),
        (lambda d: d.update(feat_dim2=512), "data.feat_dim2", "without feat_folder2"),
        (lambda d: d.update(feat_folder2="clip"), "data.feat_dim2", "required with feat_folder2"),
        (lambda d: (d.pop("tad"), d.pop("mr")), "data", "needs a 'tad' and/or an 'mr' section"),
        (lambda d: d["mr"].update(text_rule="fuzzy"), "data.mr.text_rule", "expected one of"),
    ],
)
def test_bad_keys_name_the_file_and_key(edit, key, message):
    d = yaml.safe_load(EGO4D)
    edit(d)
    with pytest.raises(ConfigError, match=rf"/proj/configs/x\.yaml: {key}: .*{message}"):
        DataConfig.from_dict(d, "/proj/configs/x.yaml", base_dir="/proj")


def test_charades_csv_needs_an_explicit_fps():
    d = yaml.safe_load(CHARADES_I3D)
    d.pop("default_fps")
    with pytest.raises(ConfigError, match=r"x\.yaml: data\.default_fps: .*24"):
        DataConfig.from_dict(d, "x.yaml", base_dir="/proj")
