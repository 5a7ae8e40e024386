"""Type checks of the one config validator (config/sections.py): every value of the wrong type, in any section,
is a ConfigError that names the file and the key; values of the right type, including YAML's int-for-float and
list-for-tuple, load as the typed value."""

from __future__ import annotations

import pytest

from unimd_lib.config.load import load_config
from unimd_lib.config.overrides import parse_overrides
from unimd_lib.config.sections import check_value
from unimd_lib.errors import ConfigError

BAD = [
    ("test_cfg: {multiclass_nms: 'false'}", "test_cfg.multiclass_nms", "expected true/false"),
    ("train_cfg: {init_loss_norm: '100'}", "train_cfg.init_loss_norm", "expected a number"),
    ("test_cfg: {max_seg_num: 2.5}", "test_cfg.max_seg_num", "expected an integer"),
    ("test_cfg: {nms_method: 1}", "test_cfg.nms_method", "expected a string"),
    ("model: {quirks: {shared_loss_normalizer: 'yes'}}", "model.quirks.shared_loss_normalizer", "true/false"),
    ("model: {backbone_arch: [2, 2]}", "model.backbone_arch", "expected 3 values"),
    ("model: {regression_range: 4}", "model.regression_range", "expected a list"),
    ("model: {embd_with_ln: 1}", "model.embd_with_ln", "expected true/false"),
    ("opt: {epochs: '5'}", "opt.epochs", "expected an integer"),
    ("loader: {batch_size: true}", "loader.batch_size", "expected an integer"),
    ("run: {deterministic: 'no'}", "run.deterministic", "true/false"),
    ("eval: {tad_protocol: 7}", "eval.tad_protocol", "does not match"),
    ("data: {max_seq_len: '96'}", "data.max_seq_len", "expected an integer"),
]


@pytest.mark.parametrize(("text", "key", "message"), BAD, ids=[k for _, k, _ in BAD])
def test_a_wrong_type_names_the_file_and_the_key(tmp_path, text, key, message):
    path = tmp_path / "bad.yaml"
    path.write_text(f"base: synthetic\n{text}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, data_root=tmp_path)
    assert (err.value.path, err.value.key) == (str(path), key)
    assert message in err.value.message


def test_right_types_load_as_typed_values(tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text(
        "base: synthetic\ntest_cfg: {multiclass_nms: false, nms_sigma: 1}\ntrain_cfg: {init_loss_norm: 100}\n"
        "model: {backbone_arch: [2, 2, 5], regression_range: [[0, 4], [4, 8], [8, 16], [16, 32], [32, 64], "
        "[64, 10000]]}\n"
    )
    m = load_config(path, data_root=tmp_path).model
    assert m.test_cfg.multiclass_nms is False
    assert m.test_cfg.nms_sigma == 1.0 and isinstance(m.test_cfg.nms_sigma, float)
    assert m.train_cfg.init_loss_norm == 100.0 and isinstance(m.train_cfg.init_loss_norm, float)
    assert m.backbone_arch == (2, 2, 5) and m.regression_range[0] == (0.0, 4.0)


def test_overrides_are_typed_like_the_file(tmp_path):
    ok = load_config("synthetic", data_root=tmp_path, overrides=parse_overrides(["test_cfg.multiclass_nms=false"]))
    assert ok.model.test_cfg.multiclass_nms is False
    with pytest.raises(ConfigError, match=r"train_cfg\.init_loss_norm: expected a number, got 'a lot'"):
        load_config("synthetic", data_root=tmp_path, overrides=parse_overrides(["train_cfg.init_loss_norm=a lot"]))


@pytest.mark.parametrize(
    ("value", "hint", "expected"),
    [(3, float, 3.0), ([1, 2], tuple[int, ...], (1, 2)), (None, int | None, None), ("x", str | None, "x")],
)
def test_check_value_coerces_only_what_yaml_cannot_say(value, hint, expected):
    assert check_value(value, hint, "f.yaml", "k") == expected


@pytest.mark.parametrize(("value", "hint"), [(True, int), (True, float), ("1", int), (0, bool), ([1, "a"], list[int])])
def test_check_value_rejects(value, hint):
    with pytest.raises(ConfigError, match=r"^f\.yaml: k: "):
        check_value(value, hint, "f.yaml", "k")
