"""`unimd extract-features` on a folder: features + manifest + failures.csv, resume, and 2 gloo processes."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.video.conftest import TOY
from unimd_lib.cli import main
from unimd_lib.errors import DataError
from unimd_lib.video import extract as extract_module
from unimd_lib.video import extract_cached, list_videos, load_encoder, resolve_recipe

REPO = Path(__file__).resolve().parents[2]
GOOD = {"cfr", "ntsc", "odd", "vfr"}
BAD = {"truncated": "alignment check failed", "corrupt": "cannot open", "empty": "zero bytes",
       "audio_only": "no video stream"}  # fmt: skip


def _extract(src, out, *extra) -> None:
    args = ["extract-features", str(src), "--encoder", TOY, "--recipe", "synthetic", "--out", str(out)]
    assert main([*args, "--no-progress", *extra]) == 0


def _failures(out: Path) -> dict[str, str]:
    with open(out / "failures.csv", newline="") as fh:
        return {row["video_id"]: row["reason"] for row in csv.DictReader(fh)}


def test_folder_extraction_writes_features_manifest_and_failures(videos, tmp_path):
    out = tmp_path / "feats"
    _extract(videos["dir"], out)
    assert {p.stem for p in out.glob("*.npy")} == GOOD
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["recipe"]["name"] == "synthetic" and manifest["encoder"]["name"] == TOY
    assert manifest["grid"] == {"fps": 30.0, "feat_stride": 16, "num_frames": 16} and manifest["feature_dim"] == 64
    assert set(manifest["videos"]) == GOOD and manifest["failures"] == len(BAD)
    for vid, entry in manifest["videos"].items():
        assert np.load(out / f"{vid}.npy").shape == (entry["T"], 64)
        assert entry["T"] == entry["T_expected"]
    assert manifest["videos"]["cfr"]["T"] == 22 and manifest["videos"]["cfr"]["frames_decoded"] == 360
    failures = _failures(out)
    assert set(failures) == set(BAD)
    for vid, reason in BAD.items():
        assert reason in failures[vid] and f"{vid}." in failures[vid]
    leftovers = [p.name for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert not leftovers


def test_resume_skips_done_videos_and_refuses_another_recipe(videos, tmp_path, monkeypatch, capsys):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("cfr", "vfr"):
        (src / videos[name].name).symlink_to(videos[name])
    out = tmp_path / "feats"
    _extract(src, out)
    before = (out / "cfr.npy").read_bytes()
    (out / "vfr.npy").unlink()
    done = []
    real = extract_module.extract_video

    def spy(path, *a, **k):
        done.append(Path(path).stem)
        return real(path, *a, **k)

    monkeypatch.setattr("unimd_lib.video.batch.extract_video", spy)
    _extract(src, out)
    assert done == ["vfr"] and (out / "cfr.npy").read_bytes() == before and (out / "vfr.npy").exists()
    capsys.readouterr()
    args = ["extract-features", str(src), "--encoder", TOY, "--recipe", "synthetic", "--out", str(out), "--fps", "10"]
    assert main([*args, "--no-progress"]) == 2
    assert "another recipe" in capsys.readouterr().err


def test_list_file_input_and_duplicate_ids(videos, tmp_path):
    lst = tmp_path / "videos.txt"
    lst.write_text(f"# my videos\n{videos['cfr']}\n\n{videos['odd']}\n")
    assert [vid for vid, _ in list_videos(lst)] == ["cfr", "odd"]
    (tmp_path / "dup").mkdir()
    for name in ("a.mp4", "a.mkv"):
        (tmp_path / "dup" / name).write_bytes(b"x")
    with pytest.raises(DataError, match="must be unique"):
        list_videos(tmp_path / "dup")


def test_extract_cached_decodes_once_per_file_recipe_and_encoder(videos, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = extract_cached(videos["cfr"], recipe="synthetic", encoder=TOY, cache_dir=cache)
    direct, _ = extract_module.extract_video(videos["cfr"], resolve_recipe("synthetic"), load_encoder(TOY))
    np.testing.assert_array_equal(first, direct)

    def boom(*a, **k):
        raise AssertionError("decoded again")

    monkeypatch.setattr("unimd_lib.video.cache.extract_video", boom)
    again = extract_cached(videos["cfr"], recipe="synthetic", encoder=TOY, cache_dir=cache)
    np.testing.assert_array_equal(again, first)
    with pytest.raises(AssertionError, match="decoded again"):  # another recipe is another cache entry
        extract_cached(videos["cfr"], recipe=resolve_recipe("synthetic", fps=15.0), encoder=TOY, cache_dir=cache)
    assert len(list(cache.glob("*.npy"))) == 1


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_gloo_processes_write_disjoint_shards_equal_to_one_process(videos, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    _extract(videos["dir"], one)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_port()),
           "-m", "unimd_lib.cli", "extract-features", str(videos["dir"]), "--encoder", TOY, "--recipe", "synthetic",
           "--out", str(two), "--no-progress", "--device", "cpu"]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    summary = [x for x in lines if "processes" in x]
    assert len(summary) == 1 and summary[0]["processes"] == 2  # rank 0 reports once
    # what each process extracted (or failed): disjoint sets whose union is the whole list
    shards = {x["rank"]: set(x["extracted"]) | set(x["failed"]) for x in lines if "rank" in x}
    assert set(shards) == {0, 1} and all(shards.values()) and not shards[0] & shards[1]
    assert shards[0] | shards[1] == {vid for vid, _ in list_videos(videos["dir"])}
    files = {p.name for p in one.glob("*.npy")}
    assert files == {p.name for p in two.glob("*.npy")}
    for name in files:
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    m1, m2 = (json.loads((d / "manifest.json").read_text()) for d in (one, two))
    assert m1 == m2
    assert _failures(one) == _failures(two)


def test_cli_bad_recipe_and_missing_input_are_clear(videos, tmp_path, capsys):
    cases = [
        (["--recipe", "nope", str(videos["cfr"])], "unknown recipe"),
        ([str(tmp_path / "none")], "input not found"),
    ]
    for extra, expected in cases:
        rc = main(["extract-features", *extra, "--encoder", TOY, "--out", str(tmp_path / "out")])
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 2 and len(err) == 1 and err[0].startswith("unimd extract-features: error: "), err
        assert expected in err[0]
