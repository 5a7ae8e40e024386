"""``load_tables`` / ``explore`` from a config file and from a run folder."""

from __future__ import annotations

import shutil

import numpy as np

from unimd_lib.views import explore, load_tables


def same(a, b) -> None:
    assert a.tad.protocol == b.tad.protocol == "ego4d_mq" and a.mr.protocol == b.mr.protocol == "ego4d_nlq"
    assert a.tad.predictions.equals(b.tad.predictions)
    np.testing.assert_array_equal(a.tad.gt.t_start, b.tad.gt.t_start)
    assert a.mr.queries.equals(b.mr.queries) and a.mr.predictions.equals(b.mr.predictions)


def test_config_file_and_run_folder_give_the_demo_tables(demo, demo_root, tmp_path):
    cfg = demo_root / "data" / "config.yaml"
    preds = demo_root / "predictions"
    from_cfg = load_tables(
        cfg, tad_predictions=preds / "validation_tad.csv", mr_predictions=preds / "validation_mr.csv"
    )
    same(from_cfg, demo)
    run = tmp_path / "run"
    shutil.copytree(preds, run / "predictions")
    shutil.copy(cfg, run / "config.yaml")  # a run's snapshot: data paths resolve against data_root
    from_run = load_tables(run, data_root=demo_root / "data")
    same(from_run, demo)
    ex = explore(run, data_root=demo_root / "data", interactive=False)
    assert ex.tables.split == "validation"
    same(ex.tables, demo)  # the explorer opened on the run folder shows exactly the run's tables
    # a fresh explorer shows every prediction of its lane (no threshold, no top-k yet), and there are some
    assert 0 < ex.n_shown == ex.lanes.n_lane
