"""Bar charts of the post-processing benchmark: CPU (numpy) against GPU (CuPy) seconds, log scale."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from benchmarks.eval_bench import timing_by_case
from unimd_lib.views.style import FONT, GRID, INK, SERIES

BACKEND_COLORS = {"numpy": SERIES[0], "cupy": SERIES[1]}
BACKEND_NAMES = {"numpy": "CPU (numpy)", "cupy": "GPU (CuPy)"}


def _layout(fig: go.Figure, title: str, y_title: str) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0.01),
        barmode="group",
        font=dict(family=FONT, size=12, color=INK),
        template="plotly_white",
        height=380,
        margin=dict(l=60, r=20, t=60, b=60),
        legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"),
    )
    fig.update_yaxes(title=y_title, type="log", gridcolor=GRID)
    return fig


def nms_figure(nms: pd.DataFrame, title: str | None = None) -> go.Figure:
    """Median seconds per (task, API), one bar per backend; the label gives videos/s and equality."""
    fig = go.Figure()
    for backend, rows in nms.groupby("backend", sort=False):
        fig.add_trace(
            go.Bar(
                x=[f"{r.task} · {r.api.replace('_', ' ')}" for r in rows.itertuples()],
                y=rows["seconds"],
                name=BACKEND_NAMES.get(backend, backend),
                marker_color=BACKEND_COLORS.get(backend),
                text=[f"{r.videos_per_s:,.0f} videos/s{'' if r.equal else ' · DIFFERS'}" for r in rows.itertuples()],
                textposition="outside",
                hovertemplate="%{x}<br>%{y:.4g} s<br>%{text}<extra>" + str(backend) + "</extra>",
            )
        )
    n = int(nms["videos"].max()) if len(nms) else 0
    return _layout(fig, title or f"NMS of the split's candidates ({n} videos): median seconds", "seconds (log)")


def evaluation_figure(table: pd.DataFrame, title: str = "Evaluation: median seconds per case") -> go.Figure:
    """Median seconds of each scored case on each backend (from an evaluation or reference-case table)."""
    t = timing_by_case(table)
    fig = go.Figure()
    for backend in ("numpy", "cupy"):
        col = f"{backend}_s"
        if t[col].notna().any():
            fig.add_trace(
                go.Bar(
                    x=[f"{c}<br>({p})" for c, p in zip(t["case"], t["protocol"], strict=True)],
                    y=t[col],
                    name=BACKEND_NAMES[backend],
                    marker_color=BACKEND_COLORS[backend],
                    hovertemplate="%{x}<br>%{y:.4g} s<extra>" + backend + "</extra>",
                )
            )
    return _layout(fig, title, "seconds (log)")


def metric_browser(table: pd.DataFrame):
    """A dropdown of the table's cases and, below it, that case's metric rows (an ipywidgets ``Output`` holding a
    small HTML table, a few KB: far below the size that stalls headless runs)."""
    import ipywidgets as widgets
    from IPython.display import display

    cases = list(dict.fromkeys(table["case"]))
    pick = widgets.Dropdown(options=cases, description="case")
    out = widgets.Output()

    def show(change=None) -> None:
        rows = table.loc[table["case"] == pick.value].drop(columns=["case"])
        out.clear_output(wait=True)
        with out:
            display(rows.style.format(precision=6, na_rep="–").hide(axis="index"))

    pick.observe(show, names="value")
    show()
    return widgets.VBox([pick, out])
