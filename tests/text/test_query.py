"""Free-text queries against a trained run: the library call, ``unimd query`` and the open-vocabulary report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.text.cli_errors import assert_input_error
from unimd_lib.cli import main
from unimd_lib.errors import ConfigError, DataError
from unimd_lib.formats.files import read_json
from unimd_lib.text import load_text_encoder, run_text_encoder
from unimd_lib.train.predict import predict_run
from unimd_lib.train.query import query_moments


def _mr_video(bench):
    mr = read_json(bench / "mr.json")["database"]
    vid = next(v for v, e in mr.items() if e["subset"] == "validation")
    return vid, mr[vid]


def test_known_sentence_gives_the_runs_own_prediction(text_run, text_bench):
    vid, entry = _mr_video(text_bench)
    sentence = entry["annotations"][0]["query"]
    got = query_moments(text_run, [sentence, "somebody doing something else"], video_id=vid, top_k=3)
    assert list(got.columns) == ["query", "t_start", "t_end", "score"]
    first = got[got["query"] == sentence]
    assert len(first) == 3 and (np.diff(first["score"]) <= 0).all()
    assert ((got["t_start"] >= 0) & (got["t_end"] <= entry["duration"]) & (got["t_start"] < got["t_end"])).all()
    preds = predict_run(text_run, write=False, progress=False)["mr"]
    own = preds[(preds.video_id == vid) & (preds.query_index == 0)].sort_values("score", ascending=False).head(3)
    np.testing.assert_allclose(first[["t_start", "t_end", "score"]].to_numpy(),
                               own[["t_start", "t_end", "score"]].to_numpy(), rtol=1e-4, atol=1e-4)  # fmt: skip


def test_features_of_a_video_outside_the_dataset(text_run, text_bench):
    vid, _ = _mr_video(text_bench)
    feats = np.load(text_bench / "features" / f"{vid}.npy")
    by_id = query_moments(text_run, "when did i pour water?", video_id=vid)
    by_features = query_moments(text_run, "when did i pour water?", features=feats * 3.0)  # scale: normalised
    # the same detections; only the clamp to the duration differs (annotated 2-decimal seconds vs T·stride/fps)
    np.testing.assert_allclose(by_features["score"], by_id["score"], rtol=1e-5)
    np.testing.assert_allclose(by_features[["t_start", "t_end"]], by_id[["t_start", "t_end"]], atol=0.01)
    with pytest.raises(DataError, match="features: 7 channels"):
        query_moments(text_run, "x", features=np.zeros((20, 7), np.float32))
    with pytest.raises(DataError, match="not in the run's splits"):
        query_moments(text_run, "x", video_id="no-such-video")
    with pytest.raises(DataError, match="text 0: empty query"):
        query_moments(text_run, "   ", video_id=vid)


def test_embedding_dim_must_match_the_run(text_run, text_bench, minilm):
    vid, _ = _mr_video(text_bench)
    assert run_text_encoder(text_run).recipe.output_dim == 32
    with pytest.raises(ConfigError, match=r"query embeddings are \(1, 384\), the run's model reads 32-d"):
        query_moments(text_run, "when did i pour water?", video_id=vid, encoder=minilm)
    wrong = load_text_encoder("minilm", output_dim=48)
    with pytest.raises(ConfigError, match="reads 32-d"):
        query_moments(text_run, "when did i pour water?", video_id=vid, encoder=wrong)


def test_cli_json_has_exactly_the_three_keys(text_run, text_bench, capsys):
    vid, _ = _mr_video(text_bench)
    assert main(["query", "--run", str(text_run), "--video-id", vid, "--text", "when did i wash dishes?",
                 "--top-k", "2", "--json"]) == 0  # fmt: skip
    rows = json.loads(capsys.readouterr().out)
    assert isinstance(rows, list) and len(rows) == 2
    assert all(set(r) == {"t_start", "t_end", "score"} for r in rows) and rows[0]["score"] >= rows[1]["score"]
    np.save(text_bench.parent / "outside.npy", np.load(text_bench / "features" / f"{vid}.npy"))
    assert main(["query", "--run", str(text_run), "--features", str(text_bench.parent / "outside.npy"),
                 "--text", "when did i wash dishes?", "--text", "fold clothes"]) == 0  # fmt: skip
    text = capsys.readouterr().out
    assert "when did i wash dishes?" in text and "fold clothes" in text and " s – " in text
    assert_input_error(
        capsys, ["query", "--run", str(text_run), "--video-id", vid, "--text", ""], "query: .*empty query"
    )


def test_open_vocabulary_report(text_run):
    from unimd_lib.train.open_vocab import open_vocabulary_report

    report = open_vocabulary_report(text_run)
    table = report["paraphrases"]
    assert set(table.version) == {"original", "rewrite 1", "rewrite 2", "rewrite 3"}
    counts = table.groupby("version").size()
    assert counts.nunique() == 1 and counts.iloc[0] > 0  # every query in every version
    assert (table.loc[table.version != "original", "text"].str.contains("when did i ") == 0).all()
    assert set(report["R1@0.5"]) == {"original", "paraphrases", "rewrite 1", "rewrite 2", "rewrite 3"}
    z = report["zero_shot"]
    assert set(z) == {f"{m}/{k}" for m in ("model", "prior_baseline") for k in ("seen_mAP", "held_out_mAP")}
    assert all(0.0 <= v <= 1.0 for v in z.values())


def test_a_run_without_a_manifest_says_how_to_fix_it(tmp_path):
    from tests.train.conftest import TINY_MODEL
    from unimd_lib.config.load import load_config
    from unimd_lib.config.overrides import parse_overrides
    from unimd_lib.data.synthetic import SyntheticSpec, generate
    from unimd_lib.train.run_dir import RunDir

    generate(tmp_path / "b", SyntheticSpec(num_videos=8, text_dim=32, min_len=48, max_len=64, max_seq_len=64))
    cfg = load_config(tmp_path / "b" / "config.yaml", overrides=parse_overrides(TINY_MODEL))
    RunDir(tmp_path / "run").write_config(cfg.to_yaml())
    with pytest.raises(ConfigError, match="carry no manifest.json"):
        run_text_encoder(tmp_path / "run")


def test_query_straight_from_a_video_file(text_run, tmp_path, capsys, monkeypatch):
    pytest.importorskip("av", reason="the `video` extra (PyAV) is not installed")
    from unimd_lib.video.synthetic import write_video

    video = write_video(tmp_path / "clip.mp4", duration=12.0)
    argv = ["query", "--run", str(text_run), "--video", str(video), "--encoder", "unimd_lib.video.toy:make_encoder",
            "--recipe", "synthetic", "--cache", str(tmp_path / "cache"), "--text", "when did i wash dishes?",
            "--top-k", "3", "--json"]  # fmt: skip
    assert main(argv) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 3 and all(set(r) == {"t_start", "t_end", "score"} for r in rows)
    assert all(0.0 <= r["t_start"] <= r["t_end"] <= 12.0 for r in rows)
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)

    def boom(*a, **k):
        raise AssertionError("decoded again")

    monkeypatch.setattr("unimd_lib.video.cache.extract_video", boom)  # the second ask reads the cache
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out) == rows
    assert_input_error(capsys, argv[:5] + argv[7:], "--encoder")  # --video without --encoder
    tad = [*argv[:11], "--classes", "--top-k", "2"]  # TAD: every class of the run's vocabulary on the same file
    assert main(tad) == 0
    printed = capsys.readouterr().out.splitlines()
    from unimd_lib.train.run_model import open_run

    names = list(open_run(text_run).dataset().class_names)
    headers = [line for line in printed if not line.startswith(" ")]  # one block per class with detections
    assert headers and set(headers) <= set(names) and len(set(headers)) == len(headers)
    assert len(printed) - len(headers) <= 2 * len(headers)  # --top-k 2 per class
