"""Figures of an ``ErrorReport`` (``views.errors``), each as plotly (``backend="plotly"``, default) or matplotlib
(``"matplotlib"``, vector-friendly, for papers), with the views' colours and wording."""

from __future__ import annotations

import numpy as np
import pandas as pd

from unimd_lib.views.style import ERROR_COLORS, FONT, GRID, INK, MUTED, SERIES

FN_PANELS = (("fn_length", "length (s)"), ("fn_coverage", "coverage (length / video)"), ("fn_instances", "# instances"))


def _need(tables: dict, key: str) -> pd.DataFrame:
    if key not in tables:
        raise ValueError(f"the report has no {key!r} table (task not loaded, or impact=False)")
    return tables[key]


def _plotly_layout(fig, title: str, height: int, bottom: int = 50) -> None:
    """Shared look; the legend (if any) sits under the plot, centred."""
    legend = any(t.showlegend is not False for t in fig.data) and len(fig.data) > 1
    fig.update_layout(
        template="plotly_white",
        height=height + (40 if legend else 0),
        font=dict(family=FONT, size=12, color=INK),
        title=dict(text=f"<b>{title}</b>", x=0.01, xanchor="left", font=dict(size=15)),
        margin=dict(l=60, r=20, t=80, b=bottom + (40 if legend else 0)),
        legend=dict(orientation="h", yref="container", y=0, yanchor="bottom", x=0.5, xanchor="center"),
    )
    fig.update_xaxes(showline=True, linecolor=MUTED, gridcolor=GRID)
    fig.update_yaxes(gridcolor=GRID, zeroline=False)


def _mpl_axes(ncols: int, width: float, height: float, ratios=None):
    import matplotlib.pyplot as plt

    from unimd_lib.views.static import RC

    with plt.rc_context(RC):
        fig, axes = plt.subplots(1, ncols, figsize=(width, height), layout="constrained", width_ratios=ratios)
    axes = np.atleast_1d(axes)
    for ax in axes:
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.spines["left"].set_color(MUTED)
        ax.spines["bottom"].set_color(MUTED)
        ax.grid(axis="y", color=GRID, lw=0.6)
        ax.set_axisbelow(True)
    return fig, axes


# ------------------------------------------------------------------------------------------- TAD: FP profile
def fp_profile_figure(report, backend: str = "plotly"):
    """DETAD false-positive profile (stacked type shares of the top-1G…top-10G predictions) and, when computed,
    the average-mAP gain from removing each error type."""
    prof = _need(report.tad, "fp_profile")
    prof = prof.iloc[: max(int(np.flatnonzero(prof["predictions"] > 0).max(initial=0)) + 1, 1)]  # no empty tail
    impact = report.tad.get("fp_impact")
    types = list(ERROR_COLORS)
    if backend == "matplotlib":
        fig, axes = _mpl_axes(2 if impact is not None else 1, 8.0, 3.2, [2, 1] if impact is not None else None)
        ax, bottom = axes[0], np.zeros(len(prof))
        for t in types:
            ax.bar(prof.index, prof[t] * 100, bottom=bottom, color=ERROR_COLORS[t], label=t, width=0.8, lw=0)
            bottom += prof[t].to_numpy() * 100
        ax.set_ylim(0, 100)
        ax.set_ylabel("error breakdown (%)")
        ax.set_xlabel("top predictions (blocks of G = GT per class)")
        ax.set_title("False-positive profile", loc="left", fontsize=10, fontweight="bold")
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=6, fontsize=7, frameon=False)
        if impact is not None:
            ax2 = axes[1]
            gain = impact["gain"] * 100
            bars = ax2.bar(range(len(gain)), gain, color=[ERROR_COLORS[t] for t in gain.index], lw=0)
            ax2.bar_label(bars, fmt="%.1f", fontsize=7, color=INK)
            ax2.set_xticks(range(len(gain)), list(gain.index), fontsize=7, rotation=30, ha="right")
            ax2.set_ylabel("average-mAP gain (points)")
            ax2.set_title("Removing each error", loc="left", fontsize=10, fontweight="bold")
        return fig
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    cols = 2 if impact is not None else 1
    fig = make_subplots(
        rows=1,
        cols=cols,
        column_widths=[0.66, 0.34][:cols],
        horizontal_spacing=0.1,
        subplot_titles=("top predictions, blocks of G = GT per class", "removing each error: average-mAP gain")[:cols],
    )
    for t in types:
        fig.add_trace(
            go.Bar(
                x=prof.index,
                y=prof[t] * 100,
                name=t,
                marker_color=ERROR_COLORS[t],
                customdata=prof["predictions"],
                legendgroup=t,
                hovertemplate=f"{t}: %{{y:.1f}}%<br>%{{x}}: %{{customdata}} predictions<extra></extra>",
            ),
            row=1,
            col=1,
        )
    if impact is not None:
        gain = impact["gain"] * 100
        fig.add_trace(
            go.Bar(
                x=list(gain.index),
                y=gain,
                marker_color=[ERROR_COLORS[t] for t in gain.index],
                text=[f"{v:.1f}" for v in gain],
                textposition="outside",
                showlegend=False,
                customdata=impact["removed"],
                hovertemplate="%{x}: +%{y:.2f} points<br>%{customdata} FPs removed<extra></extra>",
            ),
            row=1,
            col=2,
        )
        fig.update_yaxes(title_text="points", row=1, col=2)
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title_text="error breakdown (%)", range=[0, 100], row=1, col=1)
    _plotly_layout(fig, "False-positive profile (DETAD)", 440, bottom=100)
    return fig


# ------------------------------------------------------------------------------------------- TAD: FN rates
def fn_figure(report, backend: str = "plotly"):
    """False-negative rate per bin of GT length, coverage and number of instances."""
    panels = [(report.tad[k], label) for k, label in FN_PANELS if k in report.tad]
    if not panels:
        raise ValueError("the report has no fn_* tables")
    if backend == "matplotlib":
        fig, axes = _mpl_axes(len(panels), 8.0, 2.6)
        for ax, (t, label), color in zip(axes, panels, SERIES):
            x = np.arange(len(t))
            bars = ax.bar(x, np.nan_to_num(t["fn_rate"].to_numpy(np.float64)) * 100, color=color, lw=0)
            ax.bar_label(bars, labels=[f"{v:.0f}" if np.isfinite(v) else "" for v in t["fn_rate"] * 100], fontsize=7)
            ax.set_xticks(x, [f"{b}\n(n={n})" for b, n in zip(t.index, t["gt"])], fontsize=7)
            ax.set_ylim(0, 110)
            ax.set_xlabel(label)
        axes[0].set_ylabel("false negatives (%)")
        axes[0].set_title("False-negative rate by GT characteristic", loc="left", fontsize=10, fontweight="bold")
        return fig
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[label for _, label in panels], shared_yaxes=True)
    for i, ((t, _), color) in enumerate(zip(panels, SERIES), start=1):
        fig.add_trace(
            go.Bar(
                x=[f"{b} (n={n})" for b, n in zip(t.index, t["gt"])],
                y=t["fn_rate"] * 100,
                marker_color=color,
                showlegend=False,
                customdata=np.column_stack([t["range"], t["gt"]]),
                text=[f"{v:.0f}" if np.isfinite(v) else "" for v in t["fn_rate"] * 100],
                textposition="outside",
                hovertemplate="%{x} %{customdata[0]}: %{y:.1f}% missed of %{customdata[1]} GT<extra></extra>",
            ),
            row=1,
            col=i,
        )
    fig.update_yaxes(range=[0, 110], row=1, col=1, title_text="false negatives (%)")
    _plotly_layout(fig, "False-negative rate by GT characteristic (mean over thresholds)", 380)
    return fig


# --------------------------------------------------------------------------------------------- TAD: AP per class
def ap_per_class_figure(report, backend: str = "plotly", top: int | None = 40):
    """Per-class AP (mean over the protocol's thresholds), best first; ``top`` limits to the best and worst."""
    t = _need(report.tad, "ap_per_class")
    if top is not None and len(t) > top:
        t = pd.concat([t.head(top // 2), t.tail(top - top // 2)])
    labels = [f"{n} ({g})" for n, g in zip(t["class_name"], t["gt"])]
    if backend == "matplotlib":
        fig, axes = _mpl_axes(1, 6.0, 0.8 + 0.18 * len(t))
        ax = axes[0]
        ax.barh(range(len(t)), t["mean_AP"] * 100, color=SERIES[0], lw=0)
        ax.set_yticks(range(len(t)), labels, fontsize=7)
        ax.invert_yaxis()
        ax.grid(axis="x", color=GRID, lw=0.6)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("AP (%), mean over thresholds")
        ax.set_title("AP per class (GT instances)", loc="left", fontsize=10, fontweight="bold")
        return fig
    import plotly.graph_objects as go

    ap_cols = [c for c in t.columns if c.startswith("AP@")]
    detail = ["<br>".join(f"{c}: {v * 100:.1f}" for c, v in zip(ap_cols, row)) for row in t[ap_cols].to_numpy()]
    fig = go.Figure(
        go.Bar(
            x=t["mean_AP"] * 100,
            y=labels,
            orientation="h",
            marker_color=SERIES[0],
            customdata=np.column_stack([detail, t["predictions"]]),
            hovertemplate="%{y}<br>mean AP %{x:.1f}<br>%{customdata[0]}<br>%{customdata[1]} predictions<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", tickfont=dict(size=11))
    fig.update_xaxes(title_text="AP (%), mean over thresholds")
    _plotly_layout(fig, "AP per class (GT instances)", int(np.clip(140 + 20 * len(t), 300, 1400)))
    return fig


# ------------------------------------------------------------------------------------------------------ MR
def mr_recall_figure(report, backend: str = "plotly"):
    """R@k against the IoU threshold (protocol thresholds marked)."""
    c = _need(report.mr, "recall_curve")
    ks = [k for k in c.columns if k.startswith("R@")]
    marks = c.index[c["protocol_threshold"]]
    if backend == "matplotlib":
        fig, axes = _mpl_axes(1, 4.5, 3.0)
        ax = axes[0]
        for k, color in zip(ks, SERIES):
            ax.plot(c.index, c[k] * 100, color=color, lw=1.6, label=k, marker="o", ms=2.5)
        for m in marks:
            ax.axvline(m, color=MUTED, lw=0.6, ls=(0, (2, 2)))
        ax.set_xlabel("IoU threshold")
        ax.set_ylabel("recall (%)")
        ax.set_ylim(0, 100)
        ax.legend(frameon=False, fontsize=7)
        ax.set_title("Recall against IoU threshold", loc="left", fontsize=10, fontweight="bold")
        return fig
    import plotly.graph_objects as go

    fig = go.Figure()
    for k, color in zip(ks, SERIES):
        fig.add_trace(
            go.Scatter(
                x=c.index,
                y=c[k] * 100,
                name=k,
                mode="lines+markers",
                line=dict(color=color, width=2),
                hovertemplate=f"{k} @ IoU %{{x:.2f}}: %{{y:.1f}}%<extra></extra>",
            )
        )
    for m in marks:
        fig.add_vline(x=m, line=dict(color=MUTED, width=1, dash="dot"))
    fig.update_xaxes(title_text="IoU threshold (dotted: the protocol's)")
    fig.update_yaxes(title_text="recall (%)", range=[0, 100])
    _plotly_layout(fig, "Recall against IoU threshold", 380)
    return fig


def mr_breakdown_figure(report, backend: str = "plotly", threshold: float | None = None):
    """R@k by GT moment length and by query length (words), at ``threshold`` (default: the first column's)."""
    panels = [
        (report.mr[k], label)
        for k, label in (("by_length", "moment length (s)"), ("by_words", "query words"))
        if k in report.mr
    ]
    if not panels:
        raise ValueError("the report has no MR breakdown tables")
    panels = [(t[t["queries"] > 0], label) for t, label in panels]  # bins without queries say nothing
    cols = [c for c in panels[0][0].columns if c.startswith("R@")]
    thr = threshold if threshold is not None else float(cols[0].rsplit("@", 1)[1])
    cols = [c for c in cols if np.isclose(float(c.rsplit("@", 1)[1]), thr)]
    if backend == "matplotlib":
        fig, axes = _mpl_axes(len(panels), 8.0, 2.8)
        for ax, (t, label) in zip(axes, panels):
            x = np.arange(len(t))
            w = 0.8 / len(cols)
            for j, (col, color) in enumerate(zip(cols, SERIES)):
                ax.bar(
                    x + (j - (len(cols) - 1) / 2) * w, t[col] * 100, w, color=color, label=col.rsplit("@", 1)[0], lw=0
                )
            ax.set_xticks(x, [f"{i}\n(n={n})" for i, n in zip(t.index, t["queries"])], fontsize=7)
            ax.set_xlabel(label)
            ax.set_ylim(0, 100)
        axes[0].set_ylabel(f"recall at IoU {thr:.2f} (%)")
        axes[0].legend(frameon=False, fontsize=7, ncol=len(cols))
        axes[0].set_title("Recall by moment and query length", loc="left", fontsize=10, fontweight="bold")
        return fig
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[label for _, label in panels], shared_yaxes=True)
    for i, (t, _) in enumerate(panels, start=1):
        for col, color in zip(cols, SERIES):
            fig.add_trace(
                go.Bar(
                    x=[f"{b}" for b in t.index],
                    y=t[col] * 100,
                    name=col.rsplit("@", 1)[0],
                    marker_color=color,
                    showlegend=i == 1,
                    legendgroup=col,
                    customdata=t["queries"],
                    hovertemplate="%{x}: %{y:.1f}% of %{customdata} queries<extra></extra>",
                ),
                row=1,
                col=i,
            )
    fig.update_layout(barmode="group")
    fig.update_yaxes(range=[0, 100], row=1, col=1, title_text=f"recall at IoU {thr:.2f} (%)")
    _plotly_layout(fig, "Recall by moment and query length", 380)
    return fig
