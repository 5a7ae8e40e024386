"""The error contract of every ``unimd`` command: a mistake in the user's input prints ONE stderr line
``unimd <command>: error: <file>: <item>: <what is wrong>`` and exits 2, with no traceback; a bug keeps its
traceback; ``--debug`` / ``UNIMD_DEBUG=1`` bring the traceback back; a failed ``train`` leaves no run folder."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from unimd_lib.cli import main
from unimd_lib.config.load import load_config
from unimd_lib.data.synthetic import SyntheticSpec, generate
from unimd_lib.errors import DataError, WorkbenchError

REPO = Path(__file__).resolve().parents[2]
TINY = """
model: {embd_dim: 32, fpn_dim: 32, head_dim: 32, query_dim: 32, query_fc_channels: 32}
opt: {epochs: 1, warmup_epochs: 0}
loader: {batch_size: 4, num_workers: 0}
run: {num_threads: 1, progress: false}
"""  # a tiny model for the tiny benchmark: a valid config on its own
NAN_VIDEO = "syn00002"  # a training video


def sets(*items: str) -> list[str]:
    return [a for item in items for a in ("--set", item)]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """Every bad input once, next to a tiny valid benchmark."""
    root = tmp_path_factory.mktemp("bad_inputs")
    bench = root / "bench"
    generate(bench, SyntheticSpec(num_videos=40, text_dim=32, min_len=48, max_len=96, max_seq_len=96, seed=3))
    with open(bench / "config.yaml", "a") as fh:
        fh.write(TINY)
    nan_bench = root / "nan_bench"
    shutil.copytree(bench, nan_bench)
    feats = np.load(nan_bench / "features" / f"{NAN_VIDEO}.npy")
    feats[5, 3] = np.nan
    np.save(nan_bench / "features" / f"{NAN_VIDEO}.npy", feats)

    (root / "bad_yaml.yaml").write_text("base: synthetic\nopt: {epochs: [1\n")
    (root / "bad_key.yaml").write_text(f"base: {bench / 'config.yaml'}\nopt:\n  epohcs: 3\n")
    run = root / "existing_run"  # a run folder that holds a checkpoint
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "last.pt").write_bytes(b"")
    (root / "not_a_run").mkdir()
    no_ckpt = root / "run_without_checkpoint"
    (no_ckpt / "checkpoints").mkdir(parents=True)
    (no_ckpt / "config.yaml").write_text(load_config(bench / "config.yaml").to_yaml())
    (no_ckpt / "run.json").write_text(json.dumps({"task": "tad", "sampling": "random"}))
    corrupt = root / "run_with_corrupt_checkpoint"
    shutil.copytree(no_ckpt, corrupt)
    (corrupt / "checkpoints" / "best.pt").write_bytes(b"not a checkpoint")
    header = "video_id,t_start,t_end,label,score\n"
    (root / "nan_score.csv").write_text(header + "syn00000,1.0,2.0,0,0.5\nsyn00001,1.0,2.0,0,nan\n")
    (root / "good.csv").write_text(header + "syn00000,1.0,2.0,0,0.5\n")
    (root / "no_label.csv").write_text("video_id,t_start,t_end,score\nsyn00000,1.0,2.0,0.5\n")
    (root / "bad_captions.csv").write_text("video_id,sentence_index,t_start,t_end,score\nv_a,0,abc,2.0,0.5\n")
    (root / "empty").mkdir()
    return {"root": root, "bench": bench, "config": bench / "config.yaml", "nan": nan_bench / "config.yaml",
            "run": run, "no_ckpt": no_ckpt}  # fmt: skip


def cases(i: dict[str, Path]) -> dict[str, tuple[str, list[str], list[str]]]:
    """id → (command, arguments, substrings the error line must hold: the file and the item, or the option
    for command-line mistakes that involve no file)."""
    root, bench, config = i["root"], i["bench"], str(i["config"])
    nan_file = str(i["nan"].parent / "features" / f"{NAN_VIDEO}.npy")
    tad_gt = str(bench / "tad.json")
    return {
        "synthetic-bad-difficulty": ("make-synthetic", ["--out", str(root / "new"), "--difficulty", "abc"],
                                     ["--difficulty", "'abc'"]),
        "synthetic-out-not-empty": ("make-synthetic", ["--out", str(bench)], [str(bench), "not empty"]),
        "train-nan-feature": ("train", ["--config", str(i["nan"]), "--task", "tad", "--out", str(root / "r1"),
                                        *sets("loader.num_workers=1")],  # raised in a DataLoader worker
                              [nan_file, f"video {NAN_VIDEO}", "time step 5"]),
        "train-epochs-abc": ("train", ["--config", config, "--out", str(root / "r2"), *sets("opt.epochs=abc")],
                             ["--set", "opt.epochs", "'abc'"]),
        "train-unknown-override": ("train", ["--config", config, "--out", str(root / "r3"), *sets("opt.epcohs=3")],
                                   ["--set", "opt.epcohs", "unknown key"]),
        "train-unknown-section": ("train", ["--config", config, *sets("optim.epochs=3")],
                                  ["--set", "optim", "unknown section"]),
        "train-unknown-preset": ("train", ["--config", "nosuchpreset"], ["nosuchpreset", "preset"]),
        "train-malformed-yaml": ("train", ["--config", str(root / "bad_yaml.yaml")],
                                 [str(root / "bad_yaml.yaml"), "line 3", "malformed YAML"]),
        "train-unknown-key-in-file": ("train", ["--config", str(root / "bad_key.yaml")],
                                      [str(root / "bad_key.yaml"), "opt.epohcs"]),
        "train-missing-gt": ("train", ["--config", config, "--task", "tad", "--out", str(root / "r4"),
                                       *sets(f"data.tad.annotations={root / 'missing.json'}")],
                             [str(root / "missing.json"), "not found"]),
        "train-existing-run": ("train", ["--config", config, "--task", "tad", "--out", str(i["run"])],
                               [str(i["run"]), "checkpoints/last.pt", "--resume"]),
        "train-resume-without-out": ("train", ["--config", config, "--resume"], ["--resume", "--out"]),
        "predict-missing-run": ("predict", ["--run", str(root / "no_such_run")],
                                [str(root / "no_such_run"), "run folder not found"]),
        "predict-not-a-run": ("predict", ["--run", str(root / "not_a_run")], [str(root / "not_a_run"), "run.json"]),
        "predict-no-checkpoint": ("predict", ["--run", str(i["no_ckpt"])],
                                  [str(i["no_ckpt"] / "checkpoints" / "best.pt"), "checkpoint not found"]),
        "predict-corrupt-checkpoint": ("predict", ["--run", str(root / "run_with_corrupt_checkpoint")],
                                       [str(root / "run_with_corrupt_checkpoint" / "checkpoints" / "best.pt"),
                                        "not a torch checkpoint"]),
        "evaluate-nan-score": ("evaluate", ["ego4d_mq", "--gt", tad_gt, "--pred", str(root / "nan_score.csv")],
                               [str(root / "nan_score.csv"), "line 3", "syn00001", "score"]),
        "evaluate-missing-column": ("evaluate", ["ego4d_mq", "--gt", tad_gt, "--pred", str(root / "no_label.csv")],
                                    [str(root / "no_label.csv"), "'label'"]),
        "evaluate-unknown-protocol": ("evaluate", ["kinetics", "--gt", "gt.json", "--pred", "p.csv"],
                                      ["PROTOCOL", "'kinetics'"]),
        "evaluate-missing-gt": ("evaluate", ["ego4d_mq", "--gt", str(root / "nope.json"), "--pred",
                                             str(root / "good.csv")],
                                [str(root / "nope.json"), "not found"]),
        "export-needs-clips": ("export", ["ego4d_nlq", "--pred", "p.csv", "--out", str(root / "o.json")],
                               ["--clips"]),
        "export-bad-csv": ("export", ["anet_captions", "--pred", str(root / "bad_captions.csv"), "--out",
                                      str(root / "o.json")],
                           [str(root / "bad_captions.csv"), "t_start"]),
        "sweep-bad-amp": ("sweep", ["--config", config, "--seeds", "0", "--out", str(root / "sweep"),
                                    *sets("run.amp=fp32")],
                          ["--set", "run.amp", "'fp32'"]),
        "compare-missing-config": ("compare", ["--config", str(root / "missing.yaml"), "--out", str(root / "cmp")],
                                   [str(root / "missing.yaml"), "config file not found"]),
        "notebooks-none-found": ("notebooks", ["run", "--src", str(root / "empty"), "--out", str(root / "nb")],
                                 [str(root / "empty"), "no numbered notebooks"]),
        "notebooks-bad-parameter": ("notebooks", ["run", "--src", str(root / "empty"), "-p", "quick", "[oops"],
                                    ["-p quick", "'[oops'"]),
        "parity-missing-case": ("parity", [str(root / "no_case"), "--out", str(root / "par")],
                                [str(root / "no_case"), "model_summary.json"]),
    }  # fmt: skip


CASE_IDS = [
    "synthetic-bad-difficulty",
    "synthetic-out-not-empty",
    "train-nan-feature",
    "train-epochs-abc",
    "train-unknown-override",
    "train-unknown-section",
    "train-unknown-preset",
    "train-malformed-yaml",
    "train-unknown-key-in-file",
    "train-missing-gt",
    "train-existing-run",
    "train-resume-without-out",
    "predict-missing-run",
    "predict-not-a-run",
    "predict-no-checkpoint",
    "predict-corrupt-checkpoint",
    "evaluate-nan-score",
    "evaluate-missing-column",
    "evaluate-unknown-protocol",
    "evaluate-missing-gt",
    "export-needs-clips",
    "export-bad-csv",
    "sweep-bad-amp",
    "compare-missing-config",
    "notebooks-none-found",
    "notebooks-bad-parameter",
    "parity-missing-case",
]


@pytest.mark.parametrize("case", CASE_IDS)
def test_bad_input_is_one_line_and_exit_2(case, inputs, capsys, monkeypatch):
    monkeypatch.delenv("UNIMD_DEBUG", raising=False)
    command, args, names = cases(inputs)[case]
    out_dir = Path(args[args.index("--out") + 1]) if "--out" in args else None
    existed = out_dir is not None and out_dir.exists()
    rc = main([command, *args])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith(f"unimd {command}: error: ") and "Traceback" not in err
    for name in names:
        assert name in err, (name, err)
    if out_dir is not None and not existed:
        assert not out_dir.exists(), f"{out_dir} left behind"  # nothing half-written


def test_the_table_covers_the_issue(inputs):
    table = cases(inputs)
    assert sorted(table) == sorted(CASE_IDS)
    assert len(table) >= 15 and len({command for command, _, _ in table.values()}) >= 5


def test_real_exit_codes(inputs):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    env.pop("UNIMD_DEBUG", None)
    for argv, line in (
        (["evaluate", "kinetics", "--gt", "gt.json", "--pred", "p.csv"], "unimd evaluate: error: PROTOCOL: "),
        (["train", "--config", str(inputs["config"]), "--set", "opt.epochs=abc"], "unimd train: error: --set: "),
    ):
        done = subprocess.run([sys.executable, "-m", "unimd_lib.cli", *argv], env=env, capture_output=True, text=True)
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.count("\n") == 1 and done.stderr.startswith(line), done.stderr


def test_a_bug_keeps_its_traceback(inputs, monkeypatch, capsys):
    import unimd_lib.cli.evaluate as evaluate_cli

    def broken(*_):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(evaluate_cli, "read_protocol_predictions", broken)
    with pytest.raises(ZeroDivisionError):  # not turned into exit 2: python prints the traceback, exit 1
        main(["evaluate", "ego4d_mq", "--gt", "gt.json", "--pred", "p.csv"])
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("how", ["before", "after", "env"])
def test_debug_shows_the_traceback_too(how, monkeypatch, capsys):
    argv = ["evaluate", "kinetics", "--gt", "gt.json", "--pred", "p.csv"]
    if how == "env":
        monkeypatch.setenv("UNIMD_DEBUG", "1")
    argv = ["--debug", *argv] if how == "before" else [*argv, "--debug"] if how == "after" else argv
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("Traceback") and "get_protocol" in err
    assert err.splitlines()[-1].startswith("unimd evaluate: error: PROTOCOL: unknown protocol 'kinetics'")


def test_only_rank_0_reports_under_torchrun(monkeypatch, capsys):
    monkeypatch.setenv("RANK", "1")
    assert main(["evaluate", "kinetics", "--gt", "gt.json", "--pred", "p.csv"]) == 2
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("RANK", "0")
    assert main(["evaluate", "kinetics", "--gt", "gt.json", "--pred", "p.csv"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_an_os_error_naming_a_file_is_an_input_error(tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    # --out below a file: the OS refuses with the file named (NotADirectoryError)
    rc = main(["export", "anet_captions", "--pred", str(_captions_csv(tmp_path)), "--out", str(a_file / "o.json")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and str(a_file) in err and "Traceback" not in err


def _captions_csv(folder: Path) -> Path:
    p = folder / "captions.csv"
    p.write_text("video_id,sentence_index,t_start,t_end,score\nv_a,0,1.0,2.0,0.5\n")
    return p


def test_a_failed_train_keeps_a_folder_the_user_made(inputs, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    argv = ["train", "--config", str(inputs["nan"]), "--task", "tad", "--out", str(out)]
    assert main(argv) == 2
    assert f"video {NAN_VIDEO}" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "keep me"


def test_errors_survive_pickling_and_a_worker_reraise():
    err = DataError("f.npy", "video v", "NaN at time step 3")
    back = pickle.loads(pickle.dumps(err))
    assert (back.path, back.item, back.message, str(back)) == ("f.npy", "video v", "NaN at time step 3", str(err))
    # torch's DataLoader re-raises a worker's error as cls(<formatted traceback>)
    text = "Caught DataError in DataLoader worker process 0.\nOriginal Traceback (most recent call last):\n"
    text += '  File "x.py", line 1, in f\nunimd_lib.errors.DataError: f.npy: video v: NaN at time step 3\n'
    assert str(DataError(text)) == "f.npy: video v: NaN at time step 3"


def test_notebook_shows_one_short_message(inputs, monkeypatch, capsys):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    cell = (
        "from unimd_lib.eval.protocols import read_protocol_predictions\n"
        f"read_protocol_predictions('ego4d_mq', {str(inputs['root'] / 'nan_score.csv')!r})\n"
    )
    monkeypatch.delenv("UNIMD_DEBUG", raising=False)
    result = shell.run_cell(cell)
    shown = capsys.readouterr().out
    assert isinstance(result.error_in_exec, WorkbenchError)
    assert "Traceback" not in shown and len(shown.strip().splitlines()) == 1
    assert "DataError" in shown and f"{inputs['root'] / 'nan_score.csv'}: line 3" in shown
    monkeypatch.setenv("UNIMD_DEBUG", "1")  # the full traceback again, library frames included
    shell.run_cell(cell)
    assert "protocols.py" in capsys.readouterr().out


def test_config_errors_name_the_override_only_when_it_set_the_key(inputs):
    with pytest.raises(WorkbenchError, match=r"^overrides: opt\.epochs: expected an integer"):
        load_config(inputs["config"], overrides={"opt": {"epochs": "abc"}})
    bad = inputs["root"] / "bad_key.yaml"
    with pytest.raises(WorkbenchError, match=rf"^{bad}: opt\.epohcs: unknown key"):
        load_config(bad, overrides={"opt": {"epochs": 3}})


def test_notebook_kernel_shows_one_short_message(inputs, tmp_path, monkeypatch):
    """The same in a real kernel run by papermill: the cell's error output is one line, not library frames."""
    nbformat = pytest.importorskip("nbformat")
    from unimd_lib.tools.notebook_runner import run_notebook

    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.delenv("UNIMD_DEBUG", raising=False)
    bad = inputs["root"] / "nan_score.csv"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "from unimd_lib.eval.protocols import read_protocol_predictions\n"
            f"read_protocol_predictions('ego4d_mq', {str(bad)!r})"
        ),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src = tmp_path / "01_bad.ipynb"
    nbformat.write(nb, src)
    result = run_notebook(src, tmp_path / "out", {}, timeout=120)
    assert result.error == f"DataError: {bad}: line 3 (video_id syn00001): score 'nan' is not a number"
    executed = nbformat.read(tmp_path / "out" / src.name, as_version=4)
    (error,) = [o for o in executed.cells[-1].outputs if o.output_type == "error"]
    assert len(error.traceback) == 1 and "protocols.py" not in error.traceback[0] and str(bad) in error.traceback[0]


def test_a_folder_left_without_checkpoint_starts_afresh(inputs, tmp_path, capsys):
    """A first attempt that died before its first checkpoint (a bug, a kill) leaves a folder: a new `train`
    (with or without --resume) uses it from the start, without the old attempt's log rows."""
    out = tmp_path / "run"
    (out / "checkpoints").mkdir(parents=True)
    (out / "log.csv").write_text("epoch,iteration,loss\n0,1,9.0\n0,2,9.0\n")
    assert main(["train", "--config", str(inputs["config"]), "--task", "tad", "--out", str(out), "--resume"]) == 0
    capsys.readouterr()
    rows = pd.read_csv(out / "log.csv")
    assert rows["iteration"].is_unique and (rows["loss"] != 9.0).all()
    assert (out / "checkpoints" / "last.pt").exists()
