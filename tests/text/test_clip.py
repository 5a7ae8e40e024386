"""The CLIP text tower: random-initialised ViT-B/32 weights saved in the Hugging Face and the OpenAI layouts,
loaded back through ``load_text_encoder("clip", ...)``; tokenizer files given by the user; bad weights."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.text.conftest import small_vocab, write_bpe_gz, write_hf_tokenizer
from unimd_lib.errors import DataError
from unimd_lib.text import TextTruncationWarning, load_text_encoder

pytest.importorskip("transformers", reason="the 'text' extra (transformers) is not installed")
pytestmark = pytest.mark.slow  # a full-size ViT-B/32 text tower (63 M parameters) saved and loaded several times

TEXTS = ["when did i cut the vegetables?", "and the dishes", "open a drawer"]


def _ids(folder, texts):
    from transformers import CLIPTokenizer

    tok = CLIPTokenizer.from_pretrained(folder)
    return tok(texts, padding="max_length", max_length=77, return_tensors="pt")["input_ids"]


def test_hugging_face_folder_round_trip_is_exact(clip_folder):
    folder, model = clip_folder
    enc = load_text_encoder("clip", weights=folder, normalisation="none")
    with torch.no_grad():
        want = model(input_ids=_ids(folder, TEXTS)).text_embeds.numpy()
    got = enc.encode(TEXTS)
    assert got.dtype == np.float32 and got.shape == (3, 512)
    np.testing.assert_array_equal(got, want)
    r = enc.recipe
    assert (r.encoder, r.arch, r.native_dim, r.output_dim, r.mapping, r.context_length) == (
        "clip", "ViT-B/32", 512, 512, "identity", 77)  # fmt: skip
    assert len(r.weights_sha256) == 64


@functools.cache
def _openai_state(seed: int = 1) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, std=0.02):
        return torch.randn(*shape, generator=g) * std

    w = 512
    sd = {"token_embedding.weight": rnd(49408, w), "positional_embedding": rnd(77, w, std=0.01),
          "ln_final.weight": 1 + rnd(w), "ln_final.bias": rnd(w), "text_projection": rnd(w, 512, std=w**-0.5),
          "visual.proj": rnd(768, 512), "logit_scale": torch.tensor(4.6)}  # fmt: skip
    for i in range(12):
        p = f"transformer.resblocks.{i}."
        sd.update({p + "attn.in_proj_weight": rnd(3 * w, w), p + "attn.in_proj_bias": rnd(3 * w),
                   p + "attn.out_proj.weight": rnd(w, w), p + "attn.out_proj.bias": rnd(w),
                   p + "ln_1.weight": 1 + rnd(w), p + "ln_1.bias": rnd(w), p + "ln_2.weight": 1 + rnd(w),
                   p + "ln_2.bias": rnd(w), p + "mlp.c_fc.weight": rnd(4 * w, w), p + "mlp.c_fc.bias": rnd(4 * w),
                   p + "mlp.c_proj.weight": rnd(w, 4 * w), p + "mlp.c_proj.bias": rnd(w)})  # fmt: skip
    return sd


def _random_openai_state() -> dict[str, torch.Tensor]:
    return dict(_openai_state())  # a shallow copy the test may edit


def _openai_forward(sd, ids: torch.Tensor) -> torch.Tensor:
    """OpenAI CLIP's encode_text, written out: causal pre-LN transformer, QuickGELU, end-of-text pooling."""
    n, t = ids.shape
    w, heads = 512, 8
    x = sd["token_embedding.weight"][ids] + sd["positional_embedding"]
    causal = torch.full((t, t), float("-inf")).triu(1)
    for i in range(12):
        p = f"transformer.resblocks.{i}."
        h = F.layer_norm(x, (w,), sd[p + "ln_1.weight"], sd[p + "ln_1.bias"])
        q, k, v = (h @ sd[p + "attn.in_proj_weight"].T + sd[p + "attn.in_proj_bias"]).chunk(3, dim=-1)
        q, k, v = (z.reshape(n, t, heads, w // heads).transpose(1, 2) for z in (q, k, v))
        att = torch.softmax(q @ k.transpose(-1, -2) / (w // heads) ** 0.5 + causal, dim=-1) @ v
        x = x + att.transpose(1, 2).reshape(n, t, w) @ sd[p + "attn.out_proj.weight"].T + sd[p + "attn.out_proj.bias"]
        h = F.layer_norm(x, (w,), sd[p + "ln_2.weight"], sd[p + "ln_2.bias"])
        h = h @ sd[p + "mlp.c_fc.weight"].T + sd[p + "mlp.c_fc.bias"]
        x = x + (h * torch.sigmoid(1.702 * h)) @ sd[p + "mlp.c_proj.weight"].T + sd[p + "mlp.c_proj.bias"]
    x = F.layer_norm(x, (w,), sd["ln_final.weight"], sd["ln_final.bias"])
    return x[torch.arange(n), ids.argmax(dim=-1)] @ sd["text_projection"]


def test_openai_layout_file_with_bpe_gz_tokenizer(tmp_path):
    sd = _random_openai_state()
    weights = tmp_path / "ViT-B-32.pt"
    torch.save({"state_dict": {"module." + k: v for k, v in sd.items()}}, weights)
    bpe = tmp_path / "bpe_simple_vocab_16e6.txt.gz"
    write_bpe_gz(bpe)
    enc = load_text_encoder("clip", weights=weights, tokenizer=bpe, normalisation="none")
    write_hf_tokenizer(tmp_path / "tok")  # the same vocabulary in Hugging Face files, to tokenise the reference
    ids = _ids(tmp_path / "tok", TEXTS)
    assert int(ids[0, 0]) == small_vocab()["<|startoftext|>"]
    with torch.no_grad():
        want = _openai_forward(sd, ids).numpy()
    np.testing.assert_allclose(enc.encode(TEXTS), want, rtol=1e-4, atol=1e-5)
    # the recipe's output: unit rows, mapped to 128-d by a fixed seeded map (same map on every load)
    a = load_text_encoder("clip", weights=weights, tokenizer=bpe, output_dim=128, mapping_seed=3)
    b = load_text_encoder("clip", weights=weights, tokenizer=bpe, output_dim=128, mapping_seed=3)
    x = a.encode(TEXTS)
    assert x.shape == (3, 128) and a.recipe.mapping == "orthogonal" and a.recipe.mapping_seed == 3
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(x, b.encode(TEXTS))


def test_bad_weights_name_the_file_and_key(tmp_path, clip_folder, monkeypatch):
    folder, _ = clip_folder
    with pytest.raises(DataError, match="not found") as err:
        load_text_encoder("clip", weights=tmp_path / "missing.pt", tokenizer=folder)
    assert "missing.pt" in str(err.value)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # a Hub name that is not local: fetched where possible, else an error
    with pytest.raises(DataError, match="no-such-org/no-such-clip: weights: no such local file or folder"):
        load_text_encoder("clip", weights="no-such-org/no-such-clip")
    sd = _random_openai_state()
    sd["positional_embedding"] = sd["positional_embedding"][:64]  # another context length
    torch.save(sd, tmp_path / "short.pt")
    with pytest.raises(DataError, match=r"position_embedding\.weight: weights of another architecture"):
        load_text_encoder("clip", weights=tmp_path / "short.pt", tokenizer=folder)
    del sd["transformer.resblocks.11.ln_2.bias"]
    sd["positional_embedding"] = _random_openai_state()["positional_embedding"]
    torch.save(sd, tmp_path / "partial.pt")
    with pytest.raises(DataError, match=r"layers\.11\.layer_norm2\.bias: weights of another architecture"):
        load_text_encoder("clip", weights=tmp_path / "partial.pt", tokenizer=folder)
    torch.save({"encoder.layer.0.attention.self.query.weight": torch.zeros(4, 4)}, tmp_path / "bert.pt")
    with pytest.raises(DataError, match="bert.pt: encoder.layer.0.attention.self.query.weight: not a CLIP"):
        load_text_encoder("clip", weights=tmp_path / "bert.pt", tokenizer=folder)


def test_tokenizer_must_be_supplied_and_long_text_is_truncated_with_a_warning(tmp_path, clip_folder):
    folder, _ = clip_folder
    torch.save(_random_openai_state(), tmp_path / "w.pt")
    with pytest.raises(DataError, match="vocabulary is not bundled"):
        load_text_encoder("clip", weights=tmp_path / "w.pt")
    enc = load_text_encoder("clip", weights=folder)
    long = " ".join(["cut"] * 120)
    with pytest.warns(TextTruncationWarning, match=r"text 1 .* tokens; the encoder reads at most 77"):
        out = enc.encode(["short", long])
    assert np.isfinite(out).all() and out.shape == (2, 512)
    with pytest.raises(DataError, match="text 0: empty query"):
        enc.encode(["  "])
