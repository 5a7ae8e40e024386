"""The co-training comparison (``train.compare``) as a table and a grouped bar chart with seed spread."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from unimd_lib.views.style import FONT, GRID, INK, SERIES


def comparison_table(summary: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """Scheme × metric, ``mean ± std`` in percent (from ``compare_schemes``'s summary)."""
    s = summary[summary["metric"].isin(metrics)]
    text = [f"{100 * m:.2f} ± {100 * (0.0 if pd.isna(d) else d):.2f}" for m, d in zip(s["mean"], s["std"])]
    table = s.assign(value=text).pivot_table(index="scheme", columns="metric", values="value", aggfunc="first",
                                             sort=False)  # fmt: skip
    return table[[m for m in metrics if m in table.columns]]


def comparison_figure(runs: pd.DataFrame, metrics: Sequence[str]) -> go.Figure:
    """Bars = mean over seeds, whiskers = standard deviation, dots = the individual seeds."""
    metrics = [m for m in metrics if m in runs.columns]
    fig = go.Figure()
    for i, (scheme, g) in enumerate(runs.groupby("scheme", sort=False)):
        color = SERIES[i % len(SERIES)]
        means = [100 * g[m].mean() for m in metrics]
        stds = [100 * (g[m].std(ddof=1) if len(g) > 1 else 0.0) for m in metrics]
        fig.add_trace(go.Bar(name=scheme, x=metrics, y=means, marker_color=color, offsetgroup=i,
                             error_y=dict(type="data", array=stds, thickness=1.2, width=4)))  # fmt: skip
        for m in metrics:
            fig.add_trace(go.Box(x=[m] * len(g), y=100 * g[m], offsetgroup=i, legendgroup=scheme, showlegend=False,
                                 boxpoints="all", fillcolor="rgba(0,0,0,0)", line=dict(width=0), pointpos=0,
                                 marker=dict(color=INK, size=4)))  # fmt: skip
    fig.update_layout(
        title=dict(text="Individual vs co-training vs pre-train → fine-tune (mean ± std over seeds)", x=0.01),
        barmode="group",
        boxmode="group",
        font=dict(family=FONT, size=12, color=INK),
        template="plotly_white",
        height=420,
        yaxis=dict(title="%", gridcolor=GRID, rangemode="tozero"),
        legend=dict(orientation="h", y=-0.15),
        margin=dict(l=60, r=20, t=60, b=40),
    )
    return fig
