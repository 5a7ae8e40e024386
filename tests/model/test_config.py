"""Model config: original keys and defaults, unknown keys, quirk switches, config/feature mismatches."""

from __future__ import annotations

import pytest
import torch

from unimd_lib.config import model as model_config
from unimd_lib.config.model import ModelConfig, QuirksConfig, TrainLossConfig
from unimd_lib.data.batch import Batch
from unimd_lib.errors import ConfigError
from unimd_lib.model.unimd import UniMD

# the model section of configs/charades/charades_i3d_convnext_bs2_70e_stop20e.yaml after the original's merge
CHARADES_MODEL = {
    "backbone_type": "convnext_stage",
    "embd_kernel_size": 3,
    "max_buffer_len_factor": 6.0,
    "n_mha_win_size": -1,
    "head_with_ln": True,
    "fpn_type": "bifpn_convnext",
    "fpn_layer": 3,
    "n_conv_group": 8,
    "fpn_kernel_size": 7,
    "convnext_depths": [1, 1, 1, 1, 1],
    "task": "tad",
    "cls_head_type": "dot",
    "cls_head_fn": "scale",
    "reg_head_type": "one_head_multi",
    "backbone_arch": [2, 2, 5],
    "scale_factor": 2,
    "regression_range": [[0, 4], [4, 8], [8, 16], [16, 32], [32, 64], [64, 10000]],
    "n_head": 4,
    "embd_dim": 512,
    "embd_with_ln": True,
    "fpn_dim": 512,
    "fpn_with_ln": True,
    "fpn_start_level": 0,
    "head_dim": 512,
    "head_kernel_size": 3,
    "head_num_layers": 3,
    "use_abs_pe": False,
    "use_rel_pe": False,
    "input_dim": 2048,
    "num_classes": 157,
    "max_seq_len": 288,
}
CHARADES_TRAIN = {
    "init_loss_norm": 100,
    "clip_grad_l2norm": 1.0,
    "cls_prior_prob": 0.01,
    "center_sample": "radius",
    "center_sample_radius": 1.5,
    "loss_weight": 1.0,
    "tad_loss_weight": 3.0,
    "mr_loss_weight": 1.0,
    "reg_loss_weight": 1.0,
    "cls_loss_weight": 1.0,
    "head_empty_cls": [],
    "dropout": 0.0,
    "droppath": 0.1,
    "label_smoothing": 0.0,
}


def test_original_sections_load():
    cfg = ModelConfig.from_dict(CHARADES_MODEL, CHARADES_TRAIN, {"max_seg_num": 200, "pre_nms_topk": 2000})
    assert (cfg.input_dim, cfg.num_classes, cfg.max_seq_len) == (2048, 157, 288)
    assert cfg.fpn_strides == (1, 2, 4, 8, 16, 32)
    assert cfg.regression_range[-1] == (64.0, 10000.0)
    assert cfg.train_cfg.init_loss_norm == 100 and cfg.train_cfg.clip_grad_l2norm == 1.0
    assert cfg.test_cfg.max_seg_num == 200 and cfg.test_cfg.nms_sigma == 0.5  # default kept
    assert cfg.quirks == QuirksConfig()  # every quirk on: the original


def test_nested_train_and_test_sections_like_the_original_model_dict():
    cfg = ModelConfig.from_dict({**CHARADES_MODEL, "train_cfg": CHARADES_TRAIN, "test_cfg": {"nms_sigma": 0.9}})
    assert cfg.train_cfg.tad_loss_weight == 3.0 and cfg.test_cfg.nms_sigma == 0.9


def test_defaults_are_the_originals():
    t, s = TrainLossConfig(), model_config.TestConfig()
    assert (t.center_sample, t.center_sample_radius, t.label_smoothing, t.loss_weight) == ("radius", 1.5, 0.0, 1.0)
    assert (s.pre_nms_thresh, s.iou_threshold, s.nms_method, s.nms_sigma, s.duration_thresh) == (
        0.001,
        0.1,
        "soft",
        0.5,
        0.05,
    )
    assert s.ext_score_file is None and s.multiclass_nms


@pytest.mark.parametrize(
    ("section", "where"),
    [
        ("model", "model.bogus"),
        ("train", "train_cfg.bogus"),
        ("test", "test_cfg.bogus"),
        ("quirks", "model.quirks.bogus"),
    ],
)
def test_unknown_key_is_rejected_with_file_and_key(section, where):
    model, train, test = dict(CHARADES_MODEL), dict(CHARADES_TRAIN), {}
    if section == "model":
        model["bogus"] = 1
    elif section == "train":
        train["bogus"] = 1
    elif section == "test":
        test["bogus"] = 1
    else:
        model["quirks"] = {"bogus": True}
    with pytest.raises(ConfigError) as err:
        ModelConfig.from_dict(model, train, test, path="cfg.yaml")
    assert err.value.key == where
    assert str(err.value).startswith("cfg.yaml: " + where)


def test_missing_derived_key_and_unsupported_variant():
    with pytest.raises(ConfigError, match="model.input_dim"):
        ModelConfig.from_dict({k: v for k, v in CHARADES_MODEL.items() if k != "input_dim"})
    with pytest.raises(ConfigError, match="model.fpn_type"):
        ModelConfig.from_dict({**CHARADES_MODEL, "fpn_type": "fpn"})
    with pytest.raises(ConfigError, match="model.max_seq_len"):
        ModelConfig.from_dict({**CHARADES_MODEL, "max_seq_len": 300})


def test_quirk_switches_load():
    cfg = ModelConfig.from_dict({**CHARADES_MODEL, "quirks": {"relu_on_generated_kernels": False}})
    assert not cfg.quirks.relu_on_generated_kernels and cfg.quirks.shared_loss_normalizer


def test_wrong_input_dim_against_features_is_a_clear_error():
    model = UniMD(ModelConfig.small(input_dim=32, num_classes=3, max_seq_len=64, channels=16))
    batch = Batch(torch.zeros(1, 48, 64), torch.ones(1, 64, dtype=torch.bool), ["v"], [30.0], [10.0], [16.0], [16.0])
    with pytest.raises(ConfigError) as err:
        model(batch)
    assert err.value.key == "model.input_dim" and "48" in str(err.value) and "32" in str(err.value)
