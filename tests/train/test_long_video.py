"""Videos of any length: a model trained on short videos, run over a multi-hour synthetic video (split
``long`` of ``make-synthetic --long``) by the prediction path, which switches to sliding windows because
single-pass inference cannot take it; the moments placed across window borders are found as well as the others,
and far better than by the untrained network."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.train.conftest import TINY_MODEL
from unimd_lib.cli import main
from unimd_lib.data.synthetic import SyntheticSpec, generate
from unimd_lib.data.synthetic_long import border_positions, generate_long
from unimd_lib.formats.grid import Grid
from unimd_lib.model import windows
from unimd_lib.model.unimd import UniMD
from unimd_lib.train.predict import predict_dataset
from unimd_lib.train.run_model import open_run

WINDOW = 96  # the benchmark's max_seq_len: the model's window; stride = 48


def _found(pred, annotations, borders, grid, budget: int = 5) -> dict[str, list[bool]]:
    """Per GT moment: a prediction of its class with tIoU >= 0.5 among that class's top (budget × #GT of the
    class) predictions; split by whether the moment crosses a window border."""
    out: dict[str, list[bool]] = {"cross": [], "other": []}
    counts = {}
    for a in annotations:
        counts[a["label_id"]] = counts.get(a["label_id"], 0) + 1
    for a in annotations:
        s, e = a["segment"]
        q = pred[pred["label"] == a["label_id"]].nlargest(budget * counts[a["label_id"]], "score")
        inter = np.clip(np.minimum(q["t_end"], e) - np.maximum(q["t_start"], s), 0, None)
        iou = inter / (np.maximum(q["t_end"], e) - np.minimum(q["t_start"], s))
        g0, g1 = grid.to_grid(np.array([s, e]))
        out["cross" if ((borders > g0) & (borders < g1)).any() else "other"].append(bool((iou >= 0.5).any()))
    return out


@pytest.mark.slow
def test_multi_hour_video_moments_across_window_borders_are_found(tmp_path, monkeypatch):
    data = tmp_path / "data"
    spec = SyntheticSpec(num_videos=60, text_dim=32, min_len=48, max_len=96, max_seq_len=WINDOW, seed=3,
                         difficulty=0.0, num_classes=3, num_attributes=1)  # fmt: skip
    generate(data, spec)
    (vid,) = generate_long(data, hours=(2.0,))
    run = tmp_path / "run"
    args = ["train", "--config", str(data / "config.yaml"), "--task", "tad", "--out", str(run), "--no-progress"]
    for item in [*TINY_MODEL, "opt.epochs=8", "opt.learning_rate=0.003", "run.val_every=100"]:
        args += ["--set", item]
    assert main(args) == 0

    trained = open_run(run, device="cpu")
    dataset = trained.dataset("long")
    video = dataset[0]
    assert video.video_id == vid and video.length == 13500  # 2 h at 30 fps, stride 16
    assert not windows.fits_single_pass(trained.model, video.length, WINDOW)
    calls = []
    real = windows.predict_windows
    monkeypatch.setattr("unimd_lib.train.predict.predict_windows", lambda *a, **k: calls.append(1) or real(*a, **k))
    gt = json.loads((data / "tad.json").read_text())["database"][vid]["annotations"]
    borders = border_positions(video.length, WINDOW, WINDOW // 2)
    grid = Grid(30.0, 16.0, 16.0)
    rates = {}
    for name, model in (("trained", trained.model), ("untrained", UniMD(trained.cfg.model).eval())):
        torch.manual_seed(0)
        pred = predict_dataset(model, dataset, torch.device("cpu"), progress=False)["tad"]
        assert pred["t_end"].max() > 0.95 * video.duration  # detections over the whole video, in video time
        rates[name] = {k: float(np.mean(v)) for k, v in _found(pred, gt, borders, grid).items()}
        if name == "trained":
            crossing = ((pred["t_start"].to_numpy()[:, None] < grid.to_seconds(borders)[None])
                        & (pred["t_end"].to_numpy()[:, None] > grid.to_seconds(borders)[None])).any(axis=1)  # fmt: skip
            assert crossing[:500].mean() > 0.3  # top detections span borders: not cut at window edges
    assert len(calls) == 2  # the prediction path took the windows
    n_cross = len(_found(pred, gt, borders, grid)["cross"])
    assert n_cross >= 100  # make-synthetic --long centres moments on window borders
    assert rates["trained"]["cross"] >= 0.6, rates
    assert rates["trained"]["cross"] >= rates["trained"]["other"] - 0.15, rates
    assert rates["trained"]["cross"] >= rates["untrained"]["cross"] + 0.4, rates
