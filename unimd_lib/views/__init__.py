"""Views: see predictions against ground truth, with the protocols' own matching.

    from unimd_lib.views import explore, plot_timeline, error_analysis, load_tables

    ex = explore("runs/my_run")                      # interactive timeline explorer (ipywidgets + plotly)
    ex                                               # … display it; ex.set(video=..., task="mr", top_k=5)
    fig = plot_timeline(ex.tables, "vid", task="tad", top_k=10)   # the same view, matplotlib (papers)
    report = error_analysis(ex.tables)               # DETAD-style TAD errors, MR recall breakdowns
    report.tad["fp_profile"]; report.fp_profile_figure()          # tables + plotly / matplotlib figures

Without a run: ``tables = demo_tables("/tmp/demo")`` (synthetic benchmark + jittered predictions), or
``tables_from_files(tad_gt=..., tad_predictions=..., mr_gt=..., ...)``.
"""

from unimd_lib.views.demo import demo_tables, jittered_mr, jittered_tad
from unimd_lib.views.errors import (
    ErrorReport,
    ap_per_class,
    error_analysis,
    fn_by,
    fp_impact,
    fp_profile,
    fp_types,
    mr_recall_by,
    mr_recall_curve,
)
from unimd_lib.views.figure import plotted_predictions, timeline_figure
from unimd_lib.views.static import plot_timeline
from unimd_lib.views.tables import MrTables, TadTables, ViewTables, load_tables, tables_from_files
from unimd_lib.views.timeline import TimelineExplorer, explore
from unimd_lib.views.timeline_data import Controls, Lanes, TimelineData

__all__ = [
    "Controls",
    "ErrorReport",
    "Lanes",
    "MrTables",
    "TadTables",
    "TimelineData",
    "TimelineExplorer",
    "ViewTables",
    "ap_per_class",
    "demo_tables",
    "error_analysis",
    "explore",
    "fn_by",
    "fp_impact",
    "fp_profile",
    "fp_types",
    "jittered_mr",
    "jittered_tad",
    "load_tables",
    "mr_recall_by",
    "mr_recall_curve",
    "plot_timeline",
    "plotted_predictions",
    "tables_from_files",
    "timeline_figure",
]
