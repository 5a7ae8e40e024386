"""Original checkpoint layout: parameter counts, name mapping, save/load round trips."""

from __future__ import annotations

import json

import pytest
import torch

from tests.model.conftest import case_dir
from unimd_lib.config.model import ModelConfig
from unimd_lib.model.original import (
    load_original_checkpoint,
    load_original_into,
    name_map,
    save_original_checkpoint,
    to_original,
)
from unimd_lib.model.unimd import UniMD

# (input_dim, num_classes, max_seq_len) of the released configs and the original's parameter counts
CONFIGS = {
    "charades": (2048, 157, 288, 92_343_891),
    "ego4d": (1024, 110, 1024, 90_771_027),
    "anet": (1280, 1, 768, 91_164_243),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_parameter_count_equals_original(name):
    d, c, t, expected = CONFIGS[name]
    model = UniMD(ModelConfig(input_dim=d, num_classes=c, max_seq_len=t))
    assert sum(p.numel() for p in model.parameters()) == expected
    # 491 state tensors, no point buffers (non-persistent), plus our loss normaliser
    assert len(to_original(model)) == 491


@pytest.mark.parametrize("name", ["charades", "ego4d", "anet"])
def test_original_names_order_and_shapes_match_reference(name):
    rec = json.loads((case_dir(name) / "recipe" / "weights_recipe.json").read_text())
    d, c, t, _ = CONFIGS[name]
    orig = to_original(UniMD(ModelConfig(input_dim=d, num_classes=c, max_seq_len=t)))
    assert list(orig) == [e["name"] for e in rec["tensors"]]
    assert [list(v.shape) for v in orig.values()] == [e["shape"] for e in rec["tensors"]]


@pytest.fixture(scope="module")
def small_pair():
    torch.manual_seed(0)
    cfg = ModelConfig.small(input_dim=24, num_classes=5, max_seq_len=64, channels=16)
    a, b = UniMD(cfg), UniMD(cfg)
    with torch.no_grad():
        for p in b.parameters():
            p.add_(1.0)
    return a, b


def _assert_same(model_a, model_b):
    sa, sb = model_a.state_dict(), model_b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


@pytest.mark.parametrize("prefix", [True, False])
def test_save_original_then_load_gives_identical_tensors(small_pair, tmp_path, prefix):
    a, b = small_pair
    path = tmp_path / "model_best.pth.tar"
    save_original_checkpoint(path, a, ema_state=b.state_dict(), module_prefix=prefix, extra={"epoch": 7})
    raw = torch.load(path, weights_only=True)
    assert raw["epoch"] == 7
    keys = list(raw["state_dict"])
    assert all(k.startswith("module.") for k in keys) == prefix
    assert keys[0].endswith("backbone.embd.0.conv.weight")
    assert raw["state_dict"][("module." if prefix else "") + "cls_head.norm.0.weight"].shape == (1, 16, 1)
    fresh = UniMD(a.cfg)
    load_original_into(fresh, path, ema=False)
    _assert_same(fresh, a)
    load_original_into(fresh, path, ema=True)  # state_dict_ema, what eval.py evaluates
    _assert_same(fresh, b)


def test_bare_state_dict_file_and_mismatch(small_pair, tmp_path):
    a, _ = small_pair
    path = tmp_path / "weights.pth"
    torch.save({"module." + k: v for k, v in to_original(a).items()}, path)
    state = load_original_checkpoint(path)
    assert set(state) == set(name_map(a).values())
    del state["reg_head.scale.0.scale"]
    torch.save(state, path)
    with pytest.raises(KeyError, match="reg_head.scale.0.scale"):
        load_original_into(UniMD(a.cfg), path)
