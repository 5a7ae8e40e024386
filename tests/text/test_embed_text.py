"""``unimd embed-text``: what it writes loads through the presets' loaders; bad input names the file and item."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.text.cli_errors import assert_input_error
from unimd_lib.cli import main
from unimd_lib.config.load import load_config
from unimd_lib.data.dataset import VideoDataset
from unimd_lib.data.synthetic import SyntheticSpec, generate
from unimd_lib.formats.embeddings import read_class_embeddings
from unimd_lib.formats.files import read_json
from unimd_lib.text import read_manifest


@pytest.fixture
def random_bench(tmp_path):
    """A synthetic benchmark with random embeddings: embed-text replaces them with real ones."""
    generate(tmp_path / "b", SyntheticSpec(num_videos=10, min_len=32, max_len=48, max_seq_len=64, seed=1))
    return tmp_path / "b"


def test_class_vocabulary_in_both_layouts(tmp_path, minilm, capsys):
    names = ["cut vegetables", "wash dishes", "open a drawer"]
    (tmp_path / "classes.txt").write_text("\n".join(names) + "\n\n")
    out = tmp_path / "text" / "cls.npz"
    assert main(["embed-text", "classes", "--classes", str(tmp_path / "classes.txt"), "--out", str(out),
                 "--transposed", "--dim", "512", "--template", "a video of a person: {}"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["classes"] == 3
    arr = np.load(out)["features"]
    assert arr.shape == (512, 3)  # stored [D, C]
    loaded = read_class_embeddings(out, num_classes=3, dim=512, transposed=True)  # the Charades loader's call
    recipe, manifest = read_manifest(tmp_path / "text" / "manifest.json")
    assert recipe.template == "a video of a person: {}" and recipe.output_dim == 512 and manifest["classes"] == names
    from unimd_lib.text import load_text_encoder

    np.testing.assert_allclose(loaded, load_text_encoder(recipe).encode(names), atol=1e-6)
    assert_input_error(
        capsys, ["embed-text", "classes", "--classes", str(tmp_path / "classes.txt"), "--out", str(out)], "exists"
    )


def test_duplicate_class_names_are_refused(tmp_path, capsys):
    (tmp_path / "classes.json").write_text(json.dumps(["sweep", "mop", "sweep"]))
    assert_input_error(
        capsys,
        ["embed-text", "classes", "--classes", str(tmp_path / "classes.json"), "--out", str(tmp_path / "c.npz")],
        r"classes.json: class 2: duplicate class name 'sweep' \(also class 0\)",
    )
    assert not (tmp_path / "c.npz").exists()


def test_queries_of_a_config_load_through_the_dataset(random_bench, minilm, capsys):
    cfg_path = random_bench / "config.yaml"
    assert main(["embed-text", "queries", "--config", str(cfg_path), "--overwrite"]) == 0
    assert json.loads(capsys.readouterr().out)["videos"]["training"] > 0
    assert main(["embed-text", "classes", "--config", str(cfg_path), "--overwrite"]) == 0
    cfg = load_config(cfg_path)
    ds = VideoDataset(cfg.data, "validation", "all")
    video = next(ds[i] for i in range(len(ds)) if ds[i].mr is not None)
    texts = [t.strip("?").strip(".") + "?" for t in video.mr.texts]
    enc = load_text_encoder_for(cfg_path)
    np.testing.assert_allclose(video.mr.embeddings, enc.encode(texts), atol=1e-5)
    assert video.mr.embeddings.shape[1] == 128 and enc.recipe.mapping == "orthogonal"  # mapped to text_dim
    np.testing.assert_allclose(ds.class_embeddings, enc.encode(ds.class_names), atol=1e-5)


def load_text_encoder_for(cfg_path):
    from unimd_lib.text import load_text_encoder, manifest_for

    recipe, _ = read_manifest(manifest_for(load_config(cfg_path).data))
    return load_text_encoder(recipe)


def test_changed_annotation_does_not_match_the_existing_file(random_bench, minilm, capsys):
    cfg_path = random_bench / "config.yaml"
    assert main(["embed-text", "queries", "--config", str(cfg_path), "--overwrite"]) == 0
    mr = read_json(random_bench / "mr.json")
    vid = next(iter(mr["database"]))
    mr["database"][vid]["annotations"][0]["query"] = "when did i juggle?"
    (random_bench / "mr.json").write_text(json.dumps(mr))
    file = random_bench / "mr_embeddings" / f"{vid}.npz"
    before = file.read_bytes()
    assert_input_error(
        capsys,
        ["embed-text", "queries", "--config", str(cfg_path)],
        rf"{vid}.npz: video {vid}, query 0: annotation sentence 'when did i juggle\?'",
    )
    assert file.read_bytes() == before  # nothing half-written
    assert_input_error(capsys, ["embed-text", "queries", "--config", str(cfg_path), "--dim", "64"], "another recipe")
