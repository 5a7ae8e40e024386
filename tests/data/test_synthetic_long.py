"""`make-synthetic --long`: multi-hour videos in split `long`, moments centred on sliding-window borders,
readable by the loaders through the written config."""

from __future__ import annotations

import json

import numpy as np

from unimd_lib.cli import main
from unimd_lib.config.load import load_config
from unimd_lib.config.overrides import parse_overrides
from unimd_lib.data.dataset import VideoDataset
from unimd_lib.data.synthetic_long import border_positions
from unimd_lib.formats.grid import Grid


def test_long_videos_are_written_with_moments_on_window_borders(tmp_path):
    out = tmp_path / "syn"
    args = ["make-synthetic", "--out", str(out), "--num-videos", "40", "--text-dim", "32", "--min-len", "48",
            "--max-len", "96", "--max-seq-len", "96", "--long", "--long-hours", "0.5", "1"]  # fmt: skip
    assert main(args) == 0
    tad = json.loads((out / "tad.json").read_text())["database"]
    mr = json.loads((out / "mr.json").read_text())["database"]
    longs = sorted(v for v, x in tad.items() if x["subset"] == "long")
    assert longs == ["long000", "long001"] and set(longs) <= set(mr)
    grid = Grid(30.0, 16.0, 16.0)
    for vid, hours in zip(longs, (0.5, 1.0)):
        feats = np.load(out / "features" / f"{vid}.npy")
        assert feats.shape == (int(hours * 6750), 64)
        borders = border_positions(feats.shape[0], 96, 48)
        centres = [grid.to_grid(np.array(a["segment"])).mean() for a in tad[vid]["annotations"]]
        on_border = [np.abs(borders - c).min() <= 0.5 for c in centres]
        assert sum(on_border) >= 0.2 * len(centres) and sum(on_border) > 10
        queries = [a["query"] for a in mr[vid]["annotations"]]
        assert len(queries) == len(set(queries))  # one moment per sentence
        assert [a["annotation_idx"] for a in mr[vid]["annotations"]] == list(range(len(queries)))
    quick = parse_overrides(
        [f"model.{k}=32" for k in ("embd_dim", "fpn_dim", "head_dim", "query_dim", "query_fc_channels")]
    )
    cfg = load_config(out / "config.yaml", overrides=quick)
    ds = VideoDataset(cfg.data, "long", "all", training=False)
    video = ds[ds.video_ids.index("long001")]
    assert video.length == 6750 and video.tad is not None and video.mr is not None
    assert video.mr.num_queries == len(mr["long001"]["annotations"])
