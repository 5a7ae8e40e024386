"""Figures of notebook 01 (plotly): distributions per task and the seconds ↔ feature-grid alignment."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from unimd_lib.data.record import VideoQueries
from unimd_lib.views.dataset_stats import AnnotationTables, class_frequencies
from unimd_lib.views.style import FONT, GRID, INK, SERIES

TASK_COLORS = {"tad": SERIES[0], "mr": SERIES[1]}


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0.01, font=dict(size=15)),
        font=dict(family=FONT, size=12, color=INK),
        template="plotly_white",
        height=height,
        margin=dict(l=50, r=20, t=60, b=40),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=1, xanchor="right"),
        bargap=0.05,
    )
    fig.update_xaxes(gridcolor=GRID)
    fig.update_yaxes(gridcolor=GRID)
    return fig


def distributions_figure(tables: AnnotationTables, bins: int = 30) -> go.Figure:
    """Six histograms: video durations, feature lengths, segments per video, segment length (s), segment length
    relative to the video, and segment centre position relative to the video; TAD and MR overlaid."""
    titles = ("video duration (s)", "feature steps per video", "segments / queries per video",
              "segment length (s)", "segment length / video", "segment centre / video")  # fmt: skip
    fig = make_subplots(rows=2, cols=3, subplot_titles=titles, horizontal_spacing=0.07, vertical_spacing=0.16)
    v, seg = tables.videos, tables.segments
    for task in ("tad", "mr"):
        if not v[f"has_{task}"].any():
            continue
        style = dict(name=task.upper(), legendgroup=task, marker_color=TASK_COLORS[task], opacity=0.65, nbinsx=bins)
        vids = v[v[f"has_{task}"]]
        s = seg[seg["task"] == task]
        series = [
            (vids["duration"], 1, 1),
            (vids.get("num_steps"), 1, 2),
            (s.groupby("video_id").size(), 1, 3),
            (s["length"], 2, 1),
            (s["rel_length"], 2, 2),
            (s["rel_center"], 2, 3),
        ]
        for i, (values, r, c) in enumerate(series):
            if values is None:
                continue
            fig.add_trace(go.Histogram(x=values, showlegend=i == 0, **style), row=r, col=c)
    fig.update_layout(barmode="overlay")
    return _layout(fig, f"{tables.split}: what the videos and their segments look like", 560)


def class_frequency_figure(tables: AnnotationTables, top: int = 40) -> go.Figure:
    freq = class_frequencies(tables).head(top)
    hover = "%{y}: %{x} instances in %{customdata} videos<extra></extra>"
    bar = go.Bar(x=freq["count"], y=freq["name"], orientation="h", marker_color=SERIES[0], customdata=freq["videos"],
                 hovertemplate=hover)  # fmt: skip
    fig = go.Figure(bar)
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title="instances")
    return _layout(fig, f"TAD class frequencies ({len(freq)} most frequent)", max(300, 18 * len(freq) + 100))


def query_length_figure(tables: AnnotationTables) -> go.Figure:
    mr = tables.segments[tables.segments["task"] == "mr"]
    fig = go.Figure(go.Histogram(x=mr["num_words"], marker_color=TASK_COLORS["mr"], xbins=dict(size=1)))
    fig.update_xaxes(title="words per query")
    fig.update_yaxes(title="queries")
    return _layout(fig, "MR query lengths", 320)


def grid_alignment_figure(video: VideoQueries, *, max_steps: int = 120) -> go.Figure:
    """One video's first ``max_steps`` feature steps on the time axis: each step i covers frames
    [i·stride, i·stride + num_frames), drawn as its time window, with its centre (i·stride + num_frames/2)/fps
    — the point a grid coordinate maps to — and the ground-truth segments (seconds) above them."""
    n = min(video.length, max_steps)
    i = np.arange(n)
    start = i * video.feat_stride / video.fps
    end = (i * video.feat_stride + video.num_frames) / video.fps
    centre = (i * video.feat_stride + 0.5 * video.num_frames) / video.fps
    norm = np.linalg.norm(video.feats[:, :n], axis=0)
    horizon = float(end[-1]) if n else video.duration
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.35, 0.65], vertical_spacing=0.06)
    lanes = [("tad", video.tad), ("mr", video.mr)]
    for task, q in (x for x in lanes if x[1] is not None):
        segs = _seconds(video, q.segments)
        for (s, e), lab in zip(segs, q.labels):
            if s > horizon:
                continue
            fig.add_trace(
                go.Scatter(x=[s, e], y=[task.upper()] * 2, mode="lines", line=dict(width=10, color=TASK_COLORS[task]),
                           name=task.upper(), legendgroup=task, showlegend=False,
                           hovertemplate=f"{q.texts[lab]}<br>%{{x:.2f}} s<extra></extra>"),
                row=1, col=1,
            )  # fmt: skip
    fig.add_trace(go.Bar(x=centre, y=norm, width=end - start, marker_color="#c9d6e3", name="feature window",
                         customdata=np.stack([i, start, end], axis=1),
                         hovertemplate="step %{customdata[0]}: %{customdata[1]:.2f}–%{customdata[2]:.2f} s"
                                       "<extra></extra>"), row=2, col=1)  # fmt: skip
    fig.add_trace(go.Scatter(x=centre, y=norm, mode="markers", marker=dict(size=4, color=INK), name="grid point g",
                             hovertemplate="g=%{customdata} → %{x:.2f} s<extra></extra>", customdata=i),
                  row=2, col=1)  # fmt: skip
    fig.update_yaxes(title="‖feature‖ (L2-normalised: 1)", row=2, col=1)
    fig.update_xaxes(title="seconds", range=[0, horizon], row=2, col=1)
    title = (f"{video.video_id}: grid point g ↔ t = (g·{video.feat_stride:g} + {video.num_frames:g}/2) / "
             f"{video.fps:g} fps; each step spans {video.num_frames:g} frames")  # fmt: skip
    return _layout(fig, title, 420)


def _seconds(video: VideoQueries, grid_segments: np.ndarray) -> np.ndarray:
    g = np.asarray(grid_segments, dtype=np.float64).reshape(-1, 2)
    return (g * video.feat_stride + 0.5 * video.num_frames) / video.fps
