"""The timeline as a plotly figure: ground-truth rows on top, one row per shown prediction below (rank order),
horizontal bars on a time axis in seconds; four traces, always present and always in this order
(``uid`` = ``gt-hit``, ``gt-missed``, ``pred-tp``, ``pred-fp``), so the number of plotted bars is readable from
the figure (``sum(len(t.x) for t in fig.data[2:])``) and from the browser (``gd.data``)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from unimd_lib.views.style import BAND, COLORS, FONT, GRID, INK, MUTED, NAMES, ORDER, controls_text, metrics_line
from unimd_lib.views.timeline_data import FP, HIT, MISSED, TP, Lanes

ROW_PX, MIN_H, MAX_H = 24, 300, 1000
UIDS = {HIT: "gt-hit", MISSED: "gt-missed", TP: "pred-tp", FP: "pred-fp"}


def layout_rows(lanes: Lanes) -> tuple[np.ndarray, np.ndarray, list[float], list[str]]:
    """y of every GT bar and prediction bar, tick positions and labels (GT block, a gap, predictions)."""
    n_gt_rows = int(lanes.gt["row"].max()) + 1 if len(lanes.gt) else 1
    gt_y = lanes.gt["row"].to_numpy(np.float64)
    pred_y = n_gt_rows + 0.6 + lanes.predictions["row"].to_numpy(np.float64)
    ticks = [float(i) for i in range(n_gt_rows)] + pred_y.tolist()
    labels = ["ground truth" if i == 0 else "" for i in range(n_gt_rows)]
    labels += [f"#{r}" for r in lanes.predictions["rank"]]
    return gt_y, pred_y, ticks, labels


def _hover(task: str, kind: str) -> str:
    span = "%{customdata[0]:.2f} – %{customdata[1]:.2f} s  (%{customdata[2]:.2f} s)"
    if kind == "gt":
        return f"<b>%{{customdata[4]}}</b><br>{span}<br>%{{customdata[3]}}<extra></extra>"
    iou = "tIoU with best GT of the class" if task == "tad" else "IoU with the query's GT"
    return (
        f"<b>#%{{customdata[5]}} · %{{customdata[4]}}</b><br>{span}<br>score %{{customdata[3]:.4f}}<br>"
        f"{iou}: %{{customdata[6]}}<br>%{{customdata[7]}}<extra></extra>"
    )


def _gt_trace(lanes: Lanes, status: str, y: np.ndarray) -> go.Bar:
    g = lanes.gt
    m = (g["status"] == status).to_numpy()
    number = np.arange(1, len(g) + 1)[m]
    matched = [f"matched by prediction #{r}" if r else "not matched by a shown prediction" for r in g["matched_by"][m]]
    custom = (
        np.column_stack(
            [g["t_start"][m], g["t_end"][m], g["length"][m], matched, [f"GT {n} · {lanes.item_label}" for n in number]]
        )
        if m.any()
        else np.zeros((0, 5))
    )
    return go.Bar(
        x=g["length"][m],
        base=g["t_start"][m],
        y=y[m],
        orientation="h",
        name=NAMES[status],
        uid=UIDS[status],
        legendgroup="gt",
        legendgrouptitle_text="ground truth" if status == HIT else None,
        marker=dict(
            color=COLORS[status],
            line=dict(color=COLORS[status], width=1),
            pattern=dict(shape="/" if status == MISSED else "", fgcolor="white", fgopacity=0.5),
        ),
        width=0.72,
        customdata=custom,
        hovertemplate=_hover(lanes.controls.task, "gt"),
        text=[f"GT {n}" for n in number],
        textposition="inside",
        insidetextanchor="middle",
        textfont=dict(color="white", size=11),
    )


def _pred_trace(lanes: Lanes, status: str, y: np.ndarray) -> go.Bar:
    p = lanes.predictions
    m = (p["status"] == status).to_numpy()
    iou = [("–" if np.isnan(v) else f"{v:.3f}") for v in p["iou"][m]]
    if lanes.controls.task == "tad":
        extra = [
            f"matched GT {g}" + (f" · {n}" if n else "") if g else (n or "no GT matched")
            for g, n in zip(p["matched_gt"][m], p["note"][m])
        ]
    else:
        extra = [f"query: {lanes.item_label}"] * int(m.sum())
    custom = (
        np.column_stack(
            [
                p["t_start"][m],
                p["t_end"][m],
                p["length"][m],
                p["score"][m],
                [NAMES[status]] * int(m.sum()),
                p["rank"][m],
                iou,
                extra,
            ]
        )
        if m.any()
        else np.zeros((0, 8))
    )
    return go.Bar(
        x=p["length"][m],
        base=p["t_start"][m],
        y=y[m],
        orientation="h",
        name=NAMES[status],
        uid=UIDS[status],
        legendgroup="pred",
        legendgrouptitle_text="predictions" if status == TP else None,
        marker=dict(color=COLORS[status], opacity=0.9, line=dict(width=0)),
        width=0.62,
        customdata=custom,
        hovertemplate=_hover(lanes.controls.task, "pred"),
        text=[f"{s:.2f}" for s in p["score"][m]],
        textposition="auto",
        insidetextanchor="start",
        textfont=dict(size=10),
        cliponaxis=False,
    )


def timeline_figure(lanes: Lanes, *, width: int | None = None) -> go.Figure:
    """Plotly figure of one lane pair (see the module docstring for the trace layout)."""
    gt_y, pred_y, ticks, labels = layout_rows(lanes)
    fig = go.Figure()
    for status in ORDER:
        if status in (HIT, MISSED):
            fig.add_trace(_gt_trace(lanes, status, gt_y))
        else:
            fig.add_trace(_pred_trace(lanes, status, pred_y))
    n_rows = len(ticks)
    top, bottom = -0.7, max(ticks[-1] if ticks else 0.0, 1.0) + 0.7
    dur = lanes.duration
    fig.add_shape(type="rect", x0=0, x1=dur, y0=top, y1=bottom, fillcolor=BAND, line_width=0, layer="below")
    sep = (gt_y.max() + 1 if len(gt_y) else 1) - 0.2
    fig.add_shape(type="line", x0=0, x1=1, xref="paper", y0=sep, y1=sep, line=dict(color=MUTED, width=1, dash="dot"))
    title = f"<b>{lanes.controls.video_id}</b> · {_short(lanes.item_label, 80)}"
    sub = f"{metrics_line(lanes, per_line=4, sep='<br>')}<br>{controls_text(lanes)}"
    fig.update_layout(
        template="plotly_white",
        barmode="overlay",
        bargap=0.2,
        height=int(np.clip(150 + ROW_PX * n_rows, MIN_H, MAX_H)),
        width=width,
        font=dict(family=FONT, size=12, color=INK),
        title=dict(
            text=title,
            subtitle=dict(text=sub, font=dict(size=11, color=MUTED)),
            x=0.01,
            xanchor="left",
            font=dict(size=15),
        ),
        margin=dict(l=90, r=30, t=125, b=90),
        legend=dict(
            orientation="h",
            yref="container",
            y=0.0,
            yanchor="bottom",
            xanchor="center",
            x=0.5,
            font=dict(size=11),
            groupclick="toggleitem",
        ),
        hoverlabel=dict(font=dict(family=FONT, size=12)),
        xaxis=dict(
            title="time (s)",
            range=[-0.01 * dur, dur * 1.01],
            gridcolor=GRID,
            zeroline=False,
            showline=True,
            linecolor=MUTED,
            ticks="outside",
        ),
        yaxis=dict(
            tickvals=ticks,
            ticktext=labels,
            range=[bottom, top],
            showgrid=False,
            zeroline=False,
            tickfont=dict(size=11, color=MUTED),
            fixedrange=True,
        ),
        uniformtext=dict(minsize=8, mode="hide"),
    )
    return fig


def plotted_predictions(fig: go.Figure) -> int:
    """Number of prediction bars in a timeline figure."""
    return sum(len(t.x) if t.x is not None else 0 for t in fig.data if (t.uid or "").startswith("pred-"))


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
