"""The synthetic benchmark made with the real encoder: recorded recipe, held-out classes only in validation,
paraphrases, class embeddings that are the encoder's, signatures that follow meaning."""

from __future__ import annotations

import numpy as np
import pytest

from unimd_lib.data.synthetic import ACTIONS, SyntheticSpec
from unimd_lib.data.synthetic_text import ZERO_SHOT, signatures
from unimd_lib.formats.files import read_json
from unimd_lib.text import load_text_encoder, read_manifest


def test_files_manifest_and_zero_shot_split(text_bench):
    recipe, manifest = read_manifest(text_bench / "manifest.json")
    assert recipe.encoder == "minilm" and recipe.output_dim == 32 and recipe.mapping == "orthogonal"
    held = manifest["held_out"]
    assert held == list(ZERO_SHOT[:2]) and manifest["classes"][-2:] == held
    n = len(manifest["classes"]) - 2
    tad = read_json(text_bench / "tad.json")["database"]
    assert all(a["label_id"] < n for e in tad.values() for a in e["annotations"])
    mr = read_json(text_bench / "mr.json")["database"]
    train_sentences = [a["query"] for e in mr.values() if e["subset"] == "training" for a in e["annotations"]]
    assert not [s for s in train_sentences if any(h in s for h in held)]  # never seen in training, either task
    open_db = read_json(text_bench / "tad_open.json")["database"]
    assert {e["subset"] for e in open_db.values()} == {"validation"}
    labels = {a["label_id"] for e in open_db.values() for a in e["annotations"]}
    assert labels & {n, n + 1}, "held-out classes occur in validation videos"
    emb = np.load(text_bench / "class_embeddings.npz")["features"]
    np.testing.assert_allclose(emb, load_text_encoder(recipe).encode(manifest["classes"][:n]), atol=1e-5)


def test_paraphrases_rewrite_every_validation_sentence(text_bench):
    mr = read_json(text_bench / "mr.json")["database"]
    rewrites = read_json(text_bench / "mr_paraphrases.json")
    val = {v: e for v, e in mr.items() if e["subset"] == "validation"}
    assert set(rewrites) == set(val)
    for vid, entry in val.items():
        assert len(rewrites[vid]) == len(entry["annotations"])
        for versions, anno in zip(rewrites[vid], entry["annotations"]):
            assert len(set(versions)) == 3 and anno["query"] not in versions


def test_signatures_follow_the_meaning_of_the_name(minilm):
    names = ["sweep the floor", "mop the floor", "play guitar", "tie shoelaces"]
    sig = signatures(minilm.encode(names), minilm.encode(list(ACTIONS)), 64, seed=0)
    sim = sig @ sig.T
    assert sim[0, 1] > max(sim[0, 2], sim[0, 3]) + 0.2
    with pytest.raises(ValueError, match="need a real text encoder"):
        SyntheticSpec(held_out=2)
    with pytest.raises(ValueError, match="also a trained class"):
        SyntheticSpec(num_classes=24, text_encoder="minilm", held_out=1)
