"""The embedded synthetic benchmark: read back by the real loaders, deterministic, and carrying a signal that
TAD and MR share."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import yaml

from unimd_lib.cli import main
from unimd_lib.config.data import DataConfig
from unimd_lib.data.dataset import VideoDataset
from unimd_lib.data.synthetic import ACTIONS, SyntheticSpec, generate
from unimd_lib.formats.files import read_json
from unimd_lib.formats.nlq_official import read_nlq_official


def load(out: Path, split: str, tasks: str = "all", training: bool = False) -> VideoDataset:
    raw = yaml.safe_load((out / "config.yaml").read_text())
    assert raw["base"] == "synthetic" and set(raw) == {"base", "data", "eval"}
    return VideoDataset(DataConfig.from_dict(raw["data"], out / "config.yaml"), split, tasks, training=training)


@pytest.fixture(scope="module")
def default_bench(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synthetic")
    generate(out, SyntheticSpec())
    return out


def digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    small = SyntheticSpec(num_videos=24, seed=5)
    generate(tmp_path / "a", small)
    generate(tmp_path / "b", small)
    generate(tmp_path / "c", SyntheticSpec(num_videos=24, seed=6))
    a = digests(tmp_path / "a")
    assert a == digests(tmp_path / "b")
    assert a["tad.json"] != digests(tmp_path / "c")["tad.json"]
    assert not [p for p in a if p.endswith(".tmp")]  # atomic writes leave nothing behind


def test_read_back_by_the_ego4d_loaders(default_bench):
    train, val = load(default_bench, "training"), load(default_bench, "validation")
    # 200 videos, 25 % validation; per split round(35 %) TAD-only, round(35 %) MR-only, the rest both
    assert (len(train), len(val)) == (150, 50)
    assert [len(x) for x in (train.ids.tad_only, train.ids.mr_only, train.ids.both)] == [52, 52, 46]
    assert [len(x) for x in (val.ids.tad_only, val.ids.mr_only, val.ids.both)] == [18, 18, 14]
    card = (default_bench / "README.md").read_text()
    assert "| training | 52 | 52 | 46 |" in card and "seed 0" in card
    for rec in (train[i] for i in range(len(train))):
        assert rec.feats.shape[0] == 64 and 64 <= rec.length <= 256 and rec.fps == 30.0
        for name in rec.tasks:
            q = rec.task(name)
            assert q.embeddings.shape[1] == 128 and len(q.segments) >= 1
            assert (q.segments[:, 0] >= -0.5).all() and (q.segments[:, 1] <= rec.length - 0.5 + 1e-3).all()
        if rec.mr is not None:
            assert rec.mr.labels.tolist() == list(range(rec.mr.num_queries))
    assert train.class_names == list(ACTIONS[:12])
    official = read_nlq_official(default_bench / "mr_official_validation.json")
    assert len(official) == sum(len(val.mr.videos[v].texts) for v in val.ids.mr)


def test_segments_are_realistic(default_bench):
    db = read_json(default_bench / "tad.json")["database"]
    lengths, overlaps = [], 0
    for v in db.values():
        segs = sorted(a["segment"] for a in v["annotations"])
        assert segs and all(0 <= s < e <= v["duration"] for s, e in segs)
        lengths += [(e - s) * 30 / 16 for s, e in segs]  # in feature steps
        overlaps += sum(segs[i + 1][0] < segs[i][1] for i in range(len(segs) - 1))
    lengths = np.array(lengths)
    assert (lengths < 12).mean() > 0.5 and (lengths > 32).sum() >= 10 and overlaps >= 10


def in_segment_steps(ds: VideoDataset):
    """(features [N, C], class [N]) of steps inside exactly one TAD instance (class ≥ 0) or none (−1)."""
    xs, ys = [], []
    for vid in ds.ids.tad:
        rec = ds.record(vid)
        t = np.arange(rec.length)
        label, count = np.full(rec.length, -1), np.zeros(rec.length)
        for (a, b), lab in zip(rec.tad.segments, rec.tad.labels):
            inside = (t >= a + 0.5) & (t <= b - 0.5)
            label[inside], count[inside] = lab, count[inside] + 1
        xs.append(rec.feats.T[count <= 1])
        ys.append(label[count <= 1])
    return np.concatenate(xs), np.concatenate(ys)


def centroids(ds: VideoDataset) -> np.ndarray:
    x, y = in_segment_steps(ds)
    return np.stack([x[y == k].mean(0) for k in range(-1, 12)])  # row 0 = background


def probe_accuracy(out: Path) -> float:
    cent = centroids(load(out, "training", "tad"))
    x, y = in_segment_steps(load(out, "validation", "tad"))
    pred = np.argmax(x @ cent.T - 0.5 * (cent**2).sum(1), axis=1) - 1
    return float((pred[y >= 0] == y[y >= 0]).mean())


def test_features_carry_the_action_signal(default_bench):
    cent = centroids(load(default_bench, "training", "tad"))
    x, y = in_segment_steps(load(default_bench, "validation", "tad"))
    present = [k for k in range(12) if (y == k).any()]
    fg_sim = np.mean([(x[y == k] @ cent[k + 1]).mean() for k in present])
    bg_sim = np.mean([(x[y == -1] @ cent[k + 1]).mean() for k in present])
    assert fg_sim > bg_sim + 0.1
    assert probe_accuracy(default_bench) > 0.5  # 12 classes: chance is 1/12


def test_sentences_point_at_their_action_and_features_agree(default_bench):
    ds = load(default_bench, "validation", "mr")
    classes = np.load(default_bench / "class_embeddings.npz")["features"]
    cent = centroids(load(default_bench, "training", "tad"))[1:]
    text_hits, feat_hits, n = 0, 0, 0
    for vid in ds.ids.mr:
        rec = ds.record(vid)
        for emb, text, (a, b) in zip(rec.mr.embeddings, rec.mr.texts, rec.mr.segments):
            action = next(i for i, name in enumerate(ACTIONS[:12]) if f"did i {name} " in text)
            text_hits += int(np.argmax(classes @ emb) == action)
            window = rec.feats[:, max(int(np.ceil(a)), 0) : int(np.floor(b)) + 1].mean(axis=1)
            feat_hits += int(np.argmax(cent @ window - 0.5 * (cent**2).sum(1)) == action)
            n += 1
    assert text_hits / n > 0.95  # sentence embedding is nearest to its action's class embedding
    assert feat_hits / n > 0.6  # and the moment's features show that action (TAD knowledge transfers)


def test_difficulty_controls_the_signal(tmp_path):
    generate(tmp_path / "easy", SyntheticSpec(num_videos=80, difficulty=0.2))
    generate(tmp_path / "hard", SyntheticSpec(num_videos=80, difficulty=0.8))
    assert probe_accuracy(tmp_path / "easy") > probe_accuracy(tmp_path / "hard") + 0.2


def test_cli(tmp_path, capsys):
    out = tmp_path / "syn"
    assert (
        main(
            [
                "make-synthetic",
                "--out",
                str(out),
                "--seed",
                "3",
                "--num-videos",
                "20",
                "--difficulty",
                "hard",
                "--text-encoder",
                "random",
            ]
        )
        == 0
    )
    assert "wrote" in capsys.readouterr().out
    assert "difficulty 0.8" in (out / "README.md").read_text()
    assert main(["make-synthetic", "--out", str(out)]) == 2
    want = f"unimd make-synthetic: error: {out}: not empty (pass overwrite=True / --overwrite)\n"
    assert capsys.readouterr().err == want
    rc = main(["make-synthetic", "--out", str(out), "--num-videos", "20", "--overwrite", "--text-encoder", "random"])
    assert rc == 0
    assert main(["make-synthetic", "--out", str(tmp_path / "x"), "--difficulty", "3"]) == 2
    assert capsys.readouterr().err == "unimd make-synthetic: error: --difficulty: must be in [0, 1]\n"
    assert not (tmp_path / "x").exists()


def test_one_cotraining_epoch_through_the_torch_loader(default_bench):
    from unimd_lib.data.torch_dataset import TorchVideoDataset, make_loader, make_sampler

    ds = load(default_bench, "training", training=True)
    data = TorchVideoDataset(ds, seed=0)
    sampler = make_sampler(ds, "sync", 2, seed=0)
    batches = list(make_loader(data, sampler, training=True))
    # m = min(52, 52) = 52 → 26 diff steps of 2 + 2 videos; floor(46 / 2) = 23 both steps
    assert len(batches) == 49
    for b in batches:
        assert b.feats.shape[1:] == (64, 256) and b.tad is not None and b.mr is not None
        assert b.tad.queries.shape[1:] == (12, 128)
