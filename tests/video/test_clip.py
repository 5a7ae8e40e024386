"""The CLIP image tower: random-initialised weights saved to a file (three layouts) and loaded back through
``--weights`` give exactly the features of the tower they came from; a ViT-B/32-shaped tower too."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.video.conftest import TINY_CLIP
from unimd_lib.cli import main
from unimd_lib.errors import DataError
from unimd_lib.formats.files import sha256_of
from unimd_lib.video import ClipImageEncoder, FrameSampler, load_encoder, resolve_recipe
from unimd_lib.video.clip_weights import build_clip_vision, load_clip_vision, save_clip_vision
from unimd_lib.video.extract import to_tensor

pytest.importorskip("transformers", reason="the `video` extra (transformers) is not installed")


def _tower(seed: int = 0, **config):
    torch.manual_seed(seed)
    return build_clip_vision(config or TINY_CLIP)


def _reference(tower, video, recipe) -> np.ndarray:
    """Features computed straight from the in-memory tower."""
    enc = ClipImageEncoder(tower).eval()
    windows = np.stack(list(FrameSampler(video, recipe).windows()))
    with torch.inference_mode():
        return enc(to_tensor(windows, "cpu")).numpy()


@pytest.mark.parametrize("layout", ["workbench_pt", "hf_safetensors", "hf_folder", "clipmodel_bin"])
def test_saved_weights_load_back_through_the_cli(videos, tmp_path, layout):
    from safetensors.torch import save_file
    from transformers import CLIPConfig, CLIPModel

    tower = _tower()
    if layout == "workbench_pt":
        weights = tmp_path / "clip.pt"
        save_clip_vision(tower, weights)
    elif layout == "hf_safetensors":
        weights = tmp_path / "clip.safetensors"
        save_file({k: v.contiguous() for k, v in tower.state_dict().items()}, str(weights))
    elif layout == "hf_folder":
        weights = tmp_path / "clip_folder"
        tower.save_pretrained(weights)
    else:  # a whole CLIPModel's state dict (text tower included): its vision keys are used
        full = CLIPModel(CLIPConfig(vision_config=TINY_CLIP, text_config=dict(hidden_size=32, intermediate_size=64,
                         num_hidden_layers=1, num_attention_heads=2, vocab_size=99, bos_token_id=0, eos_token_id=1,
                         pad_token_id=1), projection_dim=TINY_CLIP["projection_dim"]))  # fmt: skip
        full.vision_model.load_state_dict(tower.vision_model.state_dict())
        full.visual_projection.load_state_dict(tower.visual_projection.state_dict())
        weights = tmp_path / "clip.bin"
        torch.save(full.state_dict(), weights)
    out = tmp_path / "feats"
    args = ["extract-features", str(videos["cfr"]), "--encoder", "clip", "--weights", str(weights),
            "--recipe", "charades_clip", "--size", "64", "64", "--out", str(out), "--no-progress"]  # fmt: skip
    assert main(args) == 0
    got = np.load(out / "cfr.npy")
    expected = _reference(tower, videos["cfr"], resolve_recipe("charades_clip", height=64, width=64))
    assert got.shape == (69, TINY_CLIP["projection_dim"])
    np.testing.assert_array_equal(got, expected)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["encoder"]["weights_sha256"] == sha256_of(weights)
    # another seed gives other features: the weights really came from the file
    assert not np.allclose(
        got, _reference(_tower(seed=1), videos["cfr"], resolve_recipe("charades_clip", height=64, width=64))
    )


def test_weights_of_another_shape_name_the_key(tmp_path):
    weights = tmp_path / "clip.pt"
    save_clip_vision(_tower(), weights)
    state = torch.load(weights, weights_only=True)
    state["config"]["projection_dim"] = 32  # the stored projection is 24-d
    torch.save(state, weights)
    with pytest.raises(DataError, match=r"clip.pt: visual_projection.weight: shape \(24, 64\)"):
        load_clip_vision(weights)
    torch.save({"fc.weight": torch.zeros(2, 2)}, tmp_path / "other.pt")
    with pytest.raises(DataError, match="other.pt: fc.weight: no CLIP vision keys"):
        load_clip_vision(tmp_path / "other.pt")
    with pytest.raises(DataError, match="not found"):
        load_encoder("clip", weights=tmp_path / "missing.pt")


@pytest.mark.slow
def test_vit_b32_shaped_tower_round_trips(tmp_path):
    """The real ViT-B/32 image tower's shapes (random weights): 224 px, patch 32, 12 × 768, 512-d output;
    its architecture is read back from the tensor shapes of a plain state-dict file."""
    from safetensors.torch import save_file

    tower = _tower(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                   patch_size=32, image_size=224, projection_dim=512)  # fmt: skip
    weights = tmp_path / "vit_b32.safetensors"
    save_file({k: v.contiguous() for k, v in tower.state_dict().items()}, str(weights))
    enc = load_encoder("clip", weights=weights)
    cfg = enc.module.tower.config
    assert (cfg.hidden_size, cfg.num_hidden_layers, cfg.patch_size, cfg.image_size, cfg.projection_dim) == (
        768, 12, 32, 224, 512)  # fmt: skip
    frames = torch.rand(2, 1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        got, expected = enc.module(frames), ClipImageEncoder(tower).eval()(frames)
    assert got.shape == (2, 512)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


def _openai_layout(tower) -> dict[str, torch.Tensor]:
    """An HF tower's weights written the way OpenAI / open_clip name them (visual.*, packed q/k/v, proj
    stored [width, dim])."""
    sd = tower.state_dict()
    vm = "vision_model."
    out = {"visual.class_embedding": sd[vm + "embeddings.class_embedding"],
           "visual.positional_embedding": sd[vm + "embeddings.position_embedding.weight"],
           "visual.conv1.weight": sd[vm + "embeddings.patch_embedding.weight"],
           "visual.proj": sd["visual_projection.weight"].t(),
           "visual.ln_pre.weight": sd[vm + "pre_layrnorm.weight"], "visual.ln_pre.bias": sd[vm + "pre_layrnorm.bias"],
           "visual.ln_post.weight": sd[vm + "post_layernorm.weight"],
           "visual.ln_post.bias": sd[vm + "post_layernorm.bias"]}  # fmt: skip
    for i in range(tower.config.num_hidden_layers):
        hf, oa = f"{vm}encoder.layers.{i}.", f"visual.transformer.resblocks.{i}."
        for p in ("weight", "bias"):
            out[f"{oa}ln_1.{p}"] = sd[f"{hf}layer_norm1.{p}"]
            out[f"{oa}ln_2.{p}"] = sd[f"{hf}layer_norm2.{p}"]
            out[f"{oa}mlp.c_fc.{p}"] = sd[f"{hf}mlp.fc1.{p}"]
            out[f"{oa}mlp.c_proj.{p}"] = sd[f"{hf}mlp.fc2.{p}"]
            out[f"{oa}attn.out_proj.{p}"] = sd[f"{hf}self_attn.out_proj.{p}"]
            out[f"{oa}attn.in_proj_{p}"] = torch.cat([sd[f"{hf}self_attn.{x}_proj.{p}"] for x in "qkv"])
    out["transformer.resblocks.0.ln_1.weight"] = torch.ones(3)  # the text tower's keys are ignored
    return out


def test_openai_layout_checkpoint_loads_to_the_same_tower(tmp_path):
    tower = _tower(seed=2)
    weights = tmp_path / "ViT-tiny.pt"
    torch.save({"state_dict": {f"module.{k}": v for k, v in _openai_layout(tower).items()}}, weights)
    loaded = load_clip_vision(weights)
    frames = torch.rand(3, 2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        expected = ClipImageEncoder(tower).eval()(frames)
        got = ClipImageEncoder(loaded).eval()(frames)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
