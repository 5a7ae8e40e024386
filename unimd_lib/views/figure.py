"""The timeline as a plotly figure: ground-truth rows on top, one row per shown prediction below (rank order),
horizontal bars on a time axis in seconds; four traces, always present and always in this order
(``uid`` = ``gt-hit``, ``gt-missed``, ``pred-tp``, ``pred-fp``), so the number of plotted bars is readable from
the figure (``plotted_predictions``) and from the browser: ``gd.data`` of the ``.js-plotly-plot`` element holds
plain arrays, so ``gd.data.filter(t => t.uid.startsWith('pred-')).reduce((n, t) => n + t.x.length, 0)``."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from unimd_lib.views.style import BAND, COLORS, FONT, GRID, INK, MUTED, NAMES, ORDER, controls_text, metrics_line
from unimd_lib.views.timeline_data import ANSWER, FP, HIT, MISSED, TP, Lanes

ROW_PX, MIN_H, MAX_H = 28, 260, 1400
UIDS = {HIT: "gt-hit", MISSED: "gt-missed", TP: "pred-tp", FP: "pred-fp", ANSWER: "pred-answer"}


def layout_rows(lanes: Lanes) -> tuple[np.ndarray, np.ndarray, list[float], list[str]]:
    """y of every GT bar and prediction bar, tick positions and labels (GT block, a gap, predictions)."""
    n_gt_rows = int(lanes.gt["row"].max()) + 1 if len(lanes.gt) else 1
    gt_y = lanes.gt["row"].to_numpy(np.float64)
    pred_y = n_gt_rows + 0.6 + lanes.predictions["row"].to_numpy(np.float64)
    ticks = [float(i) for i in range(n_gt_rows)] + pred_y.tolist()
    labels = ["ground truth" if i == 0 else "" for i in range(n_gt_rows)]
    labels += [f"#{r}" for r in lanes.predictions["rank"]]
    return gt_y, pred_y, ticks, labels


def _span(s: float, e: float) -> str:
    return f"{s:.2f} – {e:.2f} s ({e - s:.2f} s)"


def gt_hover(lanes: Lanes) -> list[str]:
    """Hover text of every GT bar (row order of ``lanes.gt``)."""
    g = lanes.gt
    out = []
    for n, (s, e, status, by) in enumerate(zip(g["t_start"], g["t_end"], g["status"], g["matched_by"]), start=1):
        how = f"matched by prediction #{by}" if by else "not matched by a shown prediction"
        out.append(f"<b>GT {n} · {NAMES[status]}</b><br>{_short(lanes.item_label, 60)}<br>{_span(s, e)}<br>{how}")
    return out


def prediction_hover(lanes: Lanes) -> list[str]:
    """Hover text of every prediction bar (row order of ``lanes.predictions``)."""
    p, tad = lanes.predictions, lanes.controls.task == "tad"
    what = "tIoU with the best GT of the class" if tad else "IoU with the query's GT"
    out = []
    for row in p.itertuples():
        iou = "–" if np.isnan(row.iou) else f"{row.iou:.3f}"
        if tad:
            extra = f"matched GT {row.matched_gt}" if row.matched_gt else "no GT matched"
            extra += f"<br>{row.note}" if row.note else ""
            extra += f"<br>rank {row.split_rank} of the class over the split"
        else:
            extra = f"rank {row.split_rank} of the query's windows"
        out.append(
            f"<b>#{row.rank} · {NAMES[row.status]}</b><br>{_span(row.t_start, row.t_end)}<br>score {row.score:.4f}"
            f"<br>{what}: {iou}<br>{extra}"
        )
    return out


def _gt_trace(lanes: Lanes, status: str, y: np.ndarray, hover: list[str]) -> go.Bar:
    g = lanes.gt
    m = (g["status"] == status).to_numpy()
    number = np.arange(1, len(g) + 1)[m]
    return go.Bar(
        x=g["length"].to_numpy(np.float64)[m].tolist(),  # plain lists: gd.data[i].x.length counts bars in JS
        base=g["t_start"].to_numpy(np.float64)[m].tolist(),
        y=y[m].tolist(),
        orientation="h",
        name=NAMES[status],
        uid=UIDS[status],
        marker=dict(
            color=COLORS[status],
            line=dict(color=COLORS[status], width=1),
            pattern=dict(shape="/" if status == MISSED else "", fgcolor="white", fgopacity=0.5),
        ),
        width=0.72,
        hovertext=[h for h, keep in zip(hover, m) if keep],
        hovertemplate="%{hovertext}<extra></extra>",
        text=[f"GT {n}" for n in number],
        textposition="inside",
        insidetextanchor="middle",
        textfont=dict(color="white", size=11),
    )


def _pred_trace(lanes: Lanes, status: str, y: np.ndarray, hover: list[str]) -> go.Bar:
    p = lanes.predictions
    m = (p["status"] == status).to_numpy()
    return go.Bar(
        x=p["length"].to_numpy(np.float64)[m].tolist(),
        base=p["t_start"].to_numpy(np.float64)[m].tolist(),
        y=y[m].tolist(),
        orientation="h",
        name=NAMES[status],
        uid=UIDS[status],
        marker=dict(color=COLORS[status], opacity=0.9, line=dict(color=COLORS[status], width=1)),  # 0 s stays visible
        width=0.62,
        hovertext=[h for h, keep in zip(hover, m) if keep],
        hovertemplate="%{hovertext}<extra></extra>",
        text=[f"{s:.2f}" for s in p["score"].to_numpy()[m]],
        textposition="outside",
        textfont=dict(size=10, color=MUTED),
        cliponaxis=False,
    )


def timeline_figure(lanes: Lanes, *, width: int | None = None, metrics: bool = False) -> go.Figure:
    """Plotly figure of one lane pair (see the module docstring for the trace layout); ``metrics`` adds the lane
    metrics under the title (the explorer shows them in its own panel)."""
    gt_y, pred_y, ticks, labels = layout_rows(lanes)
    fig = go.Figure()
    gh, ph = gt_hover(lanes), prediction_hover(lanes)
    free = (lanes.predictions["status"] == ANSWER).any()  # a free-text query without ground truth
    for status in (*ORDER, ANSWER) if free else ORDER:
        if status in (HIT, MISSED):
            fig.add_trace(_gt_trace(lanes, status, gt_y, gh))
        else:
            fig.add_trace(_pred_trace(lanes, status, pred_y, ph))
    top, bottom = -0.7, max(ticks[-1] if ticks else 0.0, 1.0) + 0.7
    dur = lanes.duration
    fig.add_shape(type="rect", x0=0, x1=dur, y0=top, y1=bottom, fillcolor=BAND, line_width=0, layer="below")
    sep = (gt_y.max() + 1 if len(gt_y) else 1) - 0.2
    fig.add_shape(type="line", x0=0, x1=1, xref="paper", y0=sep, y1=sep, line=dict(color=MUTED, width=1, dash="dot"))
    title = f"<b>{lanes.controls.video_id}</b> · {_short(lanes.item_label, 80)}"
    sub = controls_text(lanes)
    top_margin = 80
    if metrics:
        sub = f"{metrics_line(lanes, per_line=4, sep='<br>')}<br>{sub}"
        top_margin += 30
    fig.update_layout(
        template="plotly_white",
        barmode="overlay",
        bargap=0.2,
        height=int(np.clip(top_margin + 110 + ROW_PX * len(ticks), MIN_H, MAX_H)),
        width=width,
        font=dict(family=FONT, size=12, color=INK),
        title=dict(
            text=title,
            subtitle=dict(text=sub, font=dict(size=11, color=MUTED)),
            x=0.01,
            xanchor="left",
            font=dict(size=15),
        ),
        margin=dict(l=90, r=40, t=top_margin, b=80),
        legend=dict(
            orientation="h",
            yref="container",
            y=0.0,
            yanchor="bottom",
            xanchor="center",
            x=0.5,
            font=dict(size=11),
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
