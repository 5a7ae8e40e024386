"""The explorer widget (driven programmatically, as a user would through its widgets), its plotly figure, the
static matplotlib twin and the error-analysis figures."""

from __future__ import annotations

import io
import json
import re

import matplotlib.pyplot as plt
import numpy as np
import pytest

from unimd_lib.views import TimelineExplorer, error_analysis, explore, plot_timeline, plotted_predictions


def shown_in_dom(ex: TimelineExplorer) -> int:
    """What a browser check reads: the data-count of the count widget."""
    return int(re.search(r'data-count="(\d+)"', ex.w_count.value).group(1))


def busy_video(demo) -> str:
    """A TAD+MR video whose first class lane has several predictions."""
    from unimd_lib.views import Controls, TimelineData

    data = TimelineData(demo)
    both = demo.videos.loc[demo.videos["tad"] & demo.videos["mr"], "video_id"]
    return max(both, key=lambda v: data.lanes(Controls(v, "tad", top_k=None)).n_lane)


@pytest.fixture
def explorer(demo):
    return explore(demo, video=busy_video(demo), top_k=None)


def test_widget_controls_change_the_plotted_predictions(explorer):
    ex = explorer
    assert ex.widget is not None and "unimd-timeline" in ex.widget._dom_classes
    n0 = ex.n_shown
    assert n0 >= 3 and shown_in_dom(ex) == n0 == plotted_predictions(ex.figure)
    # one step of the score slider hides at least one prediction (its stops are the lane's scores)
    options = ex.w_score.options
    ex.w_score.value = options[1][1]
    assert ex.n_shown < n0 and shown_in_dom(ex) == ex.n_shown == plotted_predictions(ex.figure)
    assert ex.controls.score_min == options[1][1]
    # top-k
    ex.w_topk.value = 1
    assert ex.n_shown == 1 and shown_in_dom(ex) == 1 and ex.controls.top_k == 1
    ex.w_topk.value = 0  # "all"
    assert ex.controls.top_k is None
    # tIoU: the metrics text follows
    before = ex.w_metrics.value
    ex.w_tiou.value = max(t for _, t in ex.w_tiou.options)
    assert ex.controls.tiou == pytest.approx(0.9) and ex.w_metrics.value != before
    assert "tIoU &gt;= 0.90" in json.dumps(ex.figure.layout.title.subtitle.text.replace(">", "&gt;"))


def test_video_task_and_item_widgets(explorer, demo):
    ex = explorer
    ex.w_task.value = "mr"
    assert ex.controls.task == "mr" and ex.w_item.description == "Query"
    queries = [v for _, v in ex.w_item.options]
    assert queries == demo.mr.queries.loc[demo.mr.queries["video_id"] == ex.controls.video_id, "query_index"].tolist()
    ex.w_item.value = queries[-1]
    assert (
        ex.lanes.item_label
        == demo.mr.queries.set_index(["video_id", "query_index"]).loc[(ex.controls.video_id, queries[-1]), "text"]
    )
    assert ex.lanes.item_label in ex.figure.layout.title.text
    other = next(v for v in ex.data.videos() if ex.data.tasks(v) == ["tad"])
    ex.w_video.value = other
    assert ex.controls.video_id == other and ex.controls.task == "tad"
    assert [v for _, v in ex.w_task.options] == ["tad"] and shown_in_dom(ex) == ex.n_shown


def test_set_and_headless_mode(demo, capsys):
    video = busy_video(demo)
    ex = explore(demo, video=video, task="tad", top_k=None, interactive=False)
    assert ex.widget is None
    n = ex.n_shown
    ex.set(top_k=2)
    assert ex.n_shown == min(n, 2) == plotted_predictions(ex.figure)
    ex.set(task="mr", tiou=0.3, top_k=5)
    assert ex.controls.task == "mr" and ex.lanes.comparison == ">"  # ego4d_nlq: strict
    m = ex.metrics_table().set_index("metric")["value"]
    assert m["shown"].startswith(str(ex.n_shown))
    with pytest.raises(TypeError):
        ex.set(colour="red")
    ex._ipython_display_()  # outside IPython: plain text reprs, must not fail


def test_figure_traces_and_size(explorer):
    fig = explorer.figure
    assert [t.uid for t in fig.data] == ["gt-hit", "gt-missed", "pred-tp", "pred-fp"]
    lanes = explorer.lanes
    assert sum(len(t.x) for t in fig.data[:2]) == len(lanes.gt)
    assert len(fig.data[2].x) == (lanes.predictions["status"] == "TP").sum()
    assert len(json.dumps(fig.to_plotly_json(), default=str)) < 60_000  # far below the Output-widget stall


def test_static_timeline_renders(demo):
    video = busy_video(demo)
    fig = plot_timeline(demo, video, task="tad", top_k=5, tiou=0.3)
    ax = fig.axes[0]
    from unimd_lib.views import Controls, TimelineData

    lanes = TimelineData(demo).lanes(Controls(video, "tad", top_k=5, tiou=0.3))
    gids = [p.get_gid() or "" for p in ax.patches]
    assert sum(g.startswith("gt-") for g in gids) == len(lanes.gt)  # one bar per GT and per shown prediction
    assert sum(g.startswith("pred-") for g in gids) == lanes.n_shown
    assert lanes.item_label in ax.get_title(loc="left")
    for fmt in ("png", "svg", "pdf"):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt)
        assert buf.tell() > 1000
    fig_mr = plot_timeline(demo, video, task="mr", top_k=3)
    gids = [p.get_gid() or "" for p in fig_mr.axes[0].patches]
    assert sum(g.startswith("pred-") for g in gids) == min(3, TimelineData(demo).lanes(Controls(video, "mr")).n_lane)
    plt.close("all")


def test_error_figures_render_in_both_backends(demo):
    report = error_analysis(demo, groups=5)
    assert set(report.tad) >= {"fp_profile", "fp_impact", "fn_length", "ap_per_class"}
    for name in ("fp_profile_figure", "fn_figure", "ap_per_class_figure", "mr_recall_figure", "mr_breakdown_figure"):
        fig = getattr(report, name)()
        assert len(fig.data) > 0, name
        mfig = getattr(report, name)(backend="matplotlib")
        buf = io.BytesIO()
        mfig.savefig(buf, format="png")
        assert buf.tell() > 1000, name
    plt.close("all")
    assert "fp_profile" in repr(report)


def test_explorer_on_empty_lane_and_no_predictions(tmp_path, demo_root):
    from unimd_lib.views import tables_from_files

    tables = tables_from_files(tad_gt=demo_root / "data" / "tad.json", tad_protocol="ego4d_mq")
    ex = explore(tables)
    assert ex.n_shown == 0 and shown_in_dom(ex) == 0 and plotted_predictions(ex.figure) == 0
    assert [lab for lab, _ in ex.w_score.options] == ["–"]
    assert np.isnan(ex.lanes.metrics["precision"] or np.nan)
