"""The YAML loader: presets, base inheritance, overrides, original UniMD files, clear errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from unimd_lib.config.load import list_presets, load_config
from unimd_lib.config.overrides import parse_overrides
from unimd_lib.errors import ConfigError

# per-config values of the released UniMD configs (spec §2.1)
PAPER = {
    "ego4d": dict(input_dim=1024, num_classes=110, max_seq_len=1024, lr=1e-4, bs=2, epochs=30, warmup=5, stop=15,
                  init_loss_norm=100, smoothing=0.0, topk=5000, max_seg=2000, sigma=0.9, dur=0.05),
    "charades_i3d": dict(input_dim=2048, num_classes=157, max_seq_len=288, lr=1e-4, bs=2, epochs=60, warmup=10,
                         stop=20, init_loss_norm=100, smoothing=0.0, topk=2000, max_seg=200, sigma=0.5, dur=0.05),
    "charades_i3d_clip": dict(input_dim=2560, num_classes=157, max_seq_len=288, lr=2e-4, bs=4, epochs=60,
                              warmup=10, stop=35, init_loss_norm=100, smoothing=0.0, topk=2000, max_seg=200,
                              sigma=0.5, dur=0.05),
    "anet": dict(input_dim=1280, num_classes=1, max_seq_len=768, lr=1e-3, bs=8, epochs=10, warmup=5, stop=None,
                 init_loss_norm=400, smoothing=0.1, topk=2000, max_seg=100, sigma=0.75, dur=0.1),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(PAPER))
def test_paper_presets_carry_the_original_values(name, tmp_path):
    cfg = load_config(name, data_root=tmp_path)
    want = PAPER[name]
    m = cfg.model
    assert (m.input_dim, m.num_classes, m.max_seq_len) == (want["input_dim"], want["num_classes"], want["max_seq_len"])
    assert (cfg.opt.learning_rate, cfg.loader.batch_size) == (want["lr"], want["bs"])
    assert (cfg.opt.epochs, cfg.opt.warmup_epochs, cfg.opt.early_stop_epochs) == (
        want["epochs"],
        want["warmup"],
        want["stop"],
    )
    assert cfg.opt.weight_decay == 0.05
    t = m.train_cfg
    assert (t.init_loss_norm, t.label_smoothing, t.clip_grad_l2norm) == (want["init_loss_norm"], want["smoothing"], 1.0)
    assert (t.tad_loss_weight, t.mr_loss_weight, t.center_sample_radius) == (3.0, 1.0, 1.5)
    s = m.test_cfg
    assert (s.pre_nms_topk, s.max_seg_num, s.nms_sigma, s.duration_thresh) == (
        want["topk"],
        want["max_seg"],
        want["sigma"],
        want["dur"],
    )
    assert (s.min_score, s.pre_nms_thresh, s.nms_method, s.multiclass_nms) == (0.001, 0.001, "soft", True)
    assert m.embd_dim == m.fpn_dim == m.head_dim == 512
    # relative data paths resolve against the data root
    assert cfg.data.feat_folder.is_relative_to(tmp_path)


def test_every_preset_is_listed_and_small_ones_load(tmp_path):
    assert {"small", "synthetic", "ego4d", "charades_i3d", "charades_i3d_clip", "anet"} <= set(list_presets())
    cfg = load_config("synthetic", data_root=tmp_path)
    assert cfg.model.embd_dim == 128 and cfg.model.query_dim == cfg.data.text_dim == 128
    assert cfg.eval.tad_protocol == "ego4d_mq" and cfg.eval.mr_protocol == "ego4d_nlq"


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def test_base_inheritance_and_overrides(tmp_path):
    child = write(
        tmp_path / "mine.yaml",
        """
        base: synthetic
        opt: {epochs: 3}
        model: {embd_dim: 64, fpn_dim: 64, head_dim: 64, query_dim: 64, query_fc_channels: 64}
        data: {text_dim: 64}
        """,
    )
    cfg = load_config(child, overrides=parse_overrides(["opt.learning_rate=0.01", "loader.batch_size=3"]))
    assert cfg.opt.epochs == 3 and cfg.opt.learning_rate == 0.01 and cfg.loader.batch_size == 3
    assert cfg.opt.warmup_epochs == 2  # from small.yaml, two levels up
    assert cfg.model.embd_dim == 64 and cfg.data.tad.num_classes == 12
    # the data section came from the packaged preset: its relative paths resolve against the current folder
    assert cfg.data.feat_folder == Path.cwd() / "data/synthetic/features"


def test_generated_benchmark_config_resolves_next_to_itself(tmp_path):
    from unimd_lib.data.synthetic import SyntheticSpec, generate

    generate(tmp_path / "bench", SyntheticSpec(num_videos=12))
    cfg = load_config(tmp_path / "bench" / "config.yaml")
    assert cfg.data.feat_folder == tmp_path / "bench" / "features"
    assert cfg.resolve(cfg.eval.mr_gt) == tmp_path / "bench" / "mr_official_validation.json"


@pytest.mark.parametrize(
    "text, key, message",
    [
        ("base: synthetic\nopt: {epochz: 3}\n", "opt.epochz", "unknown key"),
        ("base: synthetic\nmodel: {embd_dimm: 3}\n", "model.embd_dimm", "unknown key"),
        ("base: synthetic\nrun: {amp: fp8}\n", "run.amp", "expected none|bf16|fp16"),
        ("base: synthetic\nopt: {learning_rate: fast}\n", "opt.learning_rate", "expected a number"),
        ("base: synthetic\nmodel: {input_dim: 99}\n", "model.input_dim", "disagrees with the data section"),
        ("base: synthetic\nmodel: {query_dim: 512, head_dim: 512, embd_dim: 512, fpn_dim: 512}\n",
         "model.query_dim", "text embeddings are 128-d"),
        ("base: synthetic\ndata: {tad: {num_classes: 0}}\n", "data.tad.num_classes", "must be >= 1"),
        ("base: synthetic\nmodle: {}\n", "modle", "unknown section"),
        ("base: nowhere\n", None, "neither a file nor a preset"),
    ],
)  # fmt: skip
def test_bad_configs_name_the_file_and_key(tmp_path, text, key, message):
    path = write(tmp_path / "bad.yaml", text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert message in str(err.value)
    if key is not None:
        assert str(path.resolve()) in str(err.value) or str(path) in str(err.value)
        assert key in str(err.value)


def test_malformed_yaml_names_the_line(tmp_path):
    path = write(tmp_path / "broken.yaml", "base: synthetic\nopt: {epochs: [1, 2}\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml: line 2 column \d+: malformed YAML"):
        load_config(path)


def test_bad_override():
    with pytest.raises(ConfigError, match="section.key=value"):
        parse_overrides(["epochs"])


ORIGINAL = """
dataset_name: ego4d_tad_mr
model_name: LocPointTransformerSyntheses
train_split: ['training']
val_split: ['validation']
devices: ['cuda:0']
init_rand_seed: 1234567891
dataset:
  feat_stride: 16
  num_frames: 16
  default_fps: ""
  input_dim: 1024
  num_classes: 110
  max_seq_len: 1024
  trunc_thresh: 0.5
  crop_ratio: [0.9, 1.0]
ego4d:
  mq_feat_folder: ./docker/TAD/ego4d/features
  clip_feats_dir: None
model:
  backbone_type: convnext_stage
  fpn_type: bifpn_convnext
  fpn_layer: 3
  fpn_kernel_size: 7
  n_conv_group: 8
  cls_head_type: dot
  cls_head_fn: scale
  reg_head_type: one_head_multi
opt: {learning_rate: 0.0001, epochs: 30, weight_decay: 0.05, warmup_epochs: 5, early_stop_epochs: 15}
loader: {batch_size: 2}
train_cfg: {init_loss_norm: 100, clip_grad_l2norm: 1.0, droppath: 0.1, center_sample: radius,
            center_sample_radius: 1.5, tad_loss_weight: 3.0, mr_loss_weight: 1.0}
test_cfg: {pre_nms_topk: 5000, max_seg_num: 2000, min_score: 0.001, nms_sigma: 0.9, voting_thresh: 0.95}
output_folder: ./ckpt/
"""


def test_original_config_alone_asks_for_a_data_section(tmp_path):
    path = write(tmp_path / "ego4d_vmaeVerb_convnext_35e_stop15e.yaml", ORIGINAL)
    with pytest.raises(ConfigError, match="layer a data section") as err:
        load_config(path)
    assert "mq_feat_folder" in str(err.value) and "data.feat_folder: missing required key" in str(err.value)


def test_original_config_with_a_data_overlay(tmp_path):
    write(tmp_path / "ego4d_vmaeVerb_convnext_35e_stop15e.yaml", ORIGINAL)
    overlay = write(
        tmp_path / "mine.yaml",
        """
        base: ego4d_vmaeVerb_convnext_35e_stop15e.yaml
        data:
          feat_folder: feats
          tad: {annotations: mq.json, num_classes: 110, class_embeddings: mq.npz}
          mr: {annotations: nlq.json, embedding_folder: nlq}
        """,
    )
    cfg = load_config(overlay)
    assert cfg.data.adapter == "ego4d" and cfg.data.input_dim == 1024 and cfg.data.default_fps is None
    assert cfg.model.num_classes == 110 and cfg.model.max_seq_len == 1024
    assert cfg.opt.learning_rate == 1e-4 and cfg.opt.early_stop_epochs == 15 and cfg.loader.batch_size == 2
    assert cfg.model.test_cfg.nms_sigma == 0.9 and cfg.model.train_cfg.init_loss_norm == 100
    assert cfg.run.seed == 1234567891
    assert cfg.data.feat_folder == tmp_path / "feats"


def test_original_config_with_another_model_is_refused(tmp_path):
    path = write(tmp_path / "ego4d_x.yaml", ORIGINAL.replace("LocPointTransformerSyntheses", "ActionFormer"))
    with pytest.raises(ConfigError, match="model_name: only LocPointTransformerSyntheses"):
        load_config(path)
