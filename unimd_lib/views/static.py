"""The timeline as a static matplotlib figure for papers: the same rows, colours and wording as the explorer,
vector-friendly (plain patches and text, TrueType fonts in PDF / text kept as text in SVG)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from unimd_lib.views.figure import UIDS, layout_rows
from unimd_lib.views.style import BAND, COLORS, INK, MUTED, NAMES, ORDER, controls_text, metrics_line
from unimd_lib.views.tables import ViewTables
from unimd_lib.views.timeline_data import FP, HIT, MISSED, TP, Controls, Lanes, TimelineData

RC = {"pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "none", "font.size": 9}


def timeline_lanes(
    source,
    video: str | None = None,
    *,
    task: str | None = None,
    item: int | None = None,
    score_min: float = 0.0,
    top_k: int | None = 10,
    tiou: float = 0.5,
) -> Lanes:
    """Lanes from ``ViewTables`` / ``TimelineData`` / an explorer (its current lanes when no video is given)."""
    if hasattr(source, "lanes") and isinstance(source.lanes, Lanes) and video is None:
        return source.lanes
    data = source if isinstance(source, TimelineData) else TimelineData(getattr(source, "tables", source))
    video = video if video is not None else data.videos()[0]
    task = task or data.tasks(video)[0]
    return data.lanes(Controls(video, task, item, score_min, top_k, tiou))


def plot_timeline(
    source: ViewTables | Lanes | TimelineData,
    video: str | None = None,
    *,
    task: str | None = None,
    item: int | None = None,
    score_min: float = 0.0,
    top_k: int | None = 10,
    tiou: float = 0.5,
    ax=None,
    width: float = 7.0,
    metrics: bool = True,
) -> Figure:
    """Ground truth and ranked predictions of one video and class / query (see ``timeline_data``).

    ``source``: ``ViewTables`` (with ``video`` and the controls), ready ``Lanes`` or an explorer (its current
    view). Returns the matplotlib Figure (drawn on ``ax`` when given)."""
    lanes = (
        source
        if isinstance(source, Lanes)
        else timeline_lanes(source, video, task=task, item=item, score_min=score_min, top_k=top_k, tiou=tiou)
    )
    gt_y, pred_y, ticks, labels = layout_rows(lanes)
    with plt.rc_context(RC):
        if ax is None:
            height = 1.9 + 0.22 * len(ticks)
            fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
        else:
            fig = ax.figure
        _draw(ax, lanes, gt_y, pred_y, ticks, labels, metrics)
    return fig


def _draw(ax, lanes: Lanes, gt_y, pred_y, ticks, labels, metrics: bool) -> None:
    dur = lanes.duration
    top, bottom = -0.7, max(ticks[-1] if ticks else 0.0, 1.0) + 0.7
    ax.axvspan(0, dur, color=BAND, zorder=0, lw=0)
    g, p = lanes.gt, lanes.predictions
    for status in (HIT, MISSED):
        m = (g["status"] == status).to_numpy()
        bars = ax.barh(
            gt_y[m],
            g["length"][m],
            left=g["t_start"][m],
            height=0.72,
            color=COLORS[status],
            hatch="///" if status == MISSED else None,
            linewidth=0.0,
            zorder=2,
            edgecolor="white" if status == MISSED else COLORS[status],
        )
        _gid(bars, UIDS[status])
    for n, (s, ln, y, status) in enumerate(zip(g["t_start"], g["length"], gt_y, g["status"]), start=1):
        if ln >= 0.07 * dur:  # fits inside the bar
            color = INK if status == MISSED else "white"
            ax.text(s + ln / 2, y, f"GT {n}", ha="center", va="center", color=color, fontsize=7, zorder=3)
        else:
            ax.text(s + ln + 0.006 * dur, y, f"GT {n}", ha="left", va="center", color=INK, fontsize=7, zorder=3)
    for status in (TP, FP):
        m = (p["status"] == status).to_numpy()
        bars = ax.barh(
            pred_y[m],
            p["length"][m],
            left=p["t_start"][m],
            height=0.62,
            color=COLORS[status],
            alpha=0.92,
            linewidth=0,
            zorder=2,
        )
        _gid(bars, UIDS[status])
    for e, score, y in zip(p["t_end"], p["score"], pred_y):
        ax.text(e + 0.006 * dur, y, f"{score:.2f}", ha="left", va="center", fontsize=6.5, color=MUTED, zorder=3)
    if len(gt_y):
        ax.axhline(gt_y.max() + 0.8, color=MUTED, lw=0.6, ls=(0, (2, 2)), zorder=1)
    ax.set_ylim(bottom, top)
    ax.set_xlim(-0.01 * dur, dur * 1.06)
    ax.set_yticks(ticks, labels, fontsize=7.5, color=MUTED)
    ax.tick_params(axis="y", length=0)
    ax.set_xlabel("time (s)", color=INK)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color(MUTED)
    ax.grid(axis="x", color="#e6e6e6", lw=0.6, zorder=0)
    ax.set_axisbelow(True)
    handles = [
        Patch(facecolor=COLORS[s], edgecolor="white", hatch="///" if s == MISSED else None, label=NAMES[s])
        for s in ORDER
    ]
    ax.figure.legend(
        handles=handles,
        loc="outside lower center",
        ncol=4,
        frameon=False,
        fontsize=7.5,
        handlelength=1.4,
        columnspacing=1.2,
    )
    ax.tick_params(axis="x", labelsize=8, colors=MUTED, labelcolor=INK)
    title = f"{lanes.controls.video_id} · {_short(lanes.item_label, 90)}"
    ax.set_title(title, loc="left", fontsize=10, fontweight="bold", color=INK, pad=36 if metrics else 6)
    if metrics:
        sub = f"{metrics_line(lanes, per_line=4)}\n{controls_text(lanes)}"
        ax.annotate(
            sub,
            xy=(0, 1),
            xycoords="axes fraction",
            xytext=(0, 4),
            textcoords="offset points",
            fontsize=6.5,
            color=MUTED,
            va="bottom",
            ha="left",
        )
    if not np.isfinite(dur) or dur <= 0:
        ax.set_xlim(auto=True)


def _gid(bars, uid: str) -> None:
    """Bars carry the plotly trace uid as gid (``id`` in SVG), so they can be counted and restyled."""
    for i, bar in enumerate(bars):
        bar.set_gid(f"{uid}-{i}")


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
