"""Figures of notebook 01 (plotly): splits, distributions per task (TAD vs MR), classes, queries, overlaps,
feature lengths and the seconds ↔ feature-grid alignment. A figure whose data is absent (no features, no TAD
side...) is still a figure: it says what is missing, so a notebook on annotations alone runs to the end."""

from __future__ import annotations

import textwrap

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from unimd_lib.data.record import VideoQueries
from unimd_lib.errors import DataError
from unimd_lib.views.dataset_stats import AnnotationTables, class_frequencies, word_frequencies
from unimd_lib.views.style import FONT, GRID, INK, MUTED, SERIES

TASK_COLORS = {"tad": SERIES[0], "mr": SERIES[1]}


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0.01, font=dict(size=15)),
        font=dict(family=FONT, size=12, color=INK),
        template="plotly_white",
        height=height,
        margin=dict(l=50, r=20, t=90, b=40),
        legend=dict(orientation="h", yanchor="top", yref="container", y=1, x=1, xanchor="right"),
        bargap=0.05,
    )
    fig.update_xaxes(gridcolor=GRID)
    fig.update_yaxes(gridcolor=GRID)
    return fig


def missing_figure(title: str, reason: str, height: int = 160) -> go.Figure:
    """A figure that says why its data is missing (instead of stopping the notebook)."""
    fig = go.Figure()
    text = "<br>".join(textwrap.wrap(reason, 110, break_long_words=False, break_on_hyphens=False))
    fig.add_annotation(text=text, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                       font=dict(color=MUTED, size=13))  # fmt: skip
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, f"{title} — not shown", height)


def _tasks(tables: AnnotationTables):
    for task in ("tad", "mr"):
        if tables.videos[f"has_{task}"].any():
            yield task


def _style(task: str, first: bool) -> dict:
    return dict(name=task.upper(), legendgroup=task, marker_color=TASK_COLORS[task], showlegend=first)


def splits_figure(summary) -> go.Figure:
    """Videos and segments per split, TAD and MR side by side (``summary``: ``dataset_explore.split_summary``)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("videos per split", "segments (TAD) / queries (MR)"))
    s = summary.reset_index()
    for task in ("TAD", "MR"):
        t = s[s["task"] == task]
        if t.empty:
            continue
        counts = t["queries"].fillna(t["segments"]) if task == "MR" else t["segments"]
        style = _style(task.lower(), True)
        fig.add_trace(go.Bar(x=t["split"], y=t["videos"], text=t["videos"], **style), row=1, col=1)
        fig.add_trace(go.Bar(x=t["split"], y=counts, text=counts, **{**style, "showlegend": False}), row=1, col=2)
    fig.update_traces(textposition="outside", cliponaxis=False)
    return _layout(fig, "What each split holds", 360)


def distributions_figure(tables: AnnotationTables, bins: int = 40) -> go.Figure:
    """Six histograms, TAD and MR overlaid: video durations, segments per video, segment length (s), segment
    length relative to the video, and start and centre positions relative to the video."""
    titles = ("video duration (s)", "segments / queries per video", "segment length (s)",
              "segment length / video", "segment start / video", "segment centre / video")  # fmt: skip
    fig = make_subplots(rows=2, cols=3, subplot_titles=titles, horizontal_spacing=0.07, vertical_spacing=0.16)
    v = tables.videos
    panels = {}  # (row, col) → {task: values}; both tasks share each panel's bins
    for task in _tasks(tables):
        vids, s = v[v[f"has_{task}"]], tables.task(task)
        per_video = s.groupby("video_id").size().reindex(vids["video_id"], fill_value=0)
        series = [(vids["duration"], 1, 1), (per_video, 1, 2), (s["length"], 1, 3), (s["rel_length"], 2, 1),
                  (s["rel_start"], 2, 2), (s["rel_center"], 2, 3)]  # fmt: skip
        for values, r, c in series:
            panels.setdefault((r, c), {})[task] = values.to_numpy(dtype=float)
    for (r, c), by_task in panels.items():
        xbins = _shared_bins(list(by_task.values()), bins, integer=(r, c) == (1, 2))
        for task, values in by_task.items():
            hist = go.Histogram(
                x=values, opacity=0.65, xbins=xbins, histnorm="percent", **_style(task, (r, c) == (1, 1))
            )
            fig.add_trace(hist, row=r, col=c)
    fig.update_layout(barmode="overlay")
    fig.update_yaxes(title_text="% of videos", row=1, col=1)
    fig.update_yaxes(title_text="% of segments", row=2, col=1)
    return _layout(fig, f"{tables.split}: videos and their segments (TAD vs MR, % of each)", 580)


def _shared_bins(arrays: list[np.ndarray], bins: int, integer: bool = False) -> dict:
    """One set of bins for overlaid histograms (plotly's automatic bins differ per trace)."""
    values = np.concatenate([a[np.isfinite(a)] for a in arrays]) if arrays else np.zeros(0)
    lo, hi = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
    size = (hi - lo) / bins if hi > lo else 1.0
    if integer:
        size, lo = max(1.0, float(np.ceil(size))), lo - 0.5
    return dict(start=lo, end=hi + size, size=size)


def feature_length_figure(tables: AnnotationTables, note: str | None = None) -> go.Figure:
    """Feature steps per video against its duration (the grid's time per step is the slope); a note when the
    feature files are absent."""
    v = tables.videos[tables.videos["has_features"]]
    if v.empty:
        return missing_figure("feature lengths", note or "no feature files: annotations only")
    fig = go.Figure(go.Scatter(x=v["duration"], y=v["num_steps"], mode="markers", marker=dict(size=4, color=INK),
                               customdata=v["video_id"], hovertemplate="%{customdata}: %{x:.1f} s, %{y} steps"
                                                                       "<extra></extra>"))  # fmt: skip
    fig.update_xaxes(title="video duration (s)")
    fig.update_yaxes(title="feature steps")
    title = f"{tables.split}: feature length vs duration ({len(v)} of {len(tables.videos)} videos have features)"
    return _layout(fig, title, 380)


def class_frequency_figure(tables: AnnotationTables, top: int = 30) -> go.Figure:
    """The long tail (instances per class by rank, log scale) and the ``top`` most frequent classes by name."""
    freq = class_frequencies(tables)
    if freq.empty:
        return missing_figure("TAD class frequencies", f"split {tables.split!r} has no TAD segment")
    head = freq.head(top)
    fig = make_subplots(rows=1, cols=2, column_widths=[0.4, 0.6], horizontal_spacing=0.3,
                        subplot_titles=(f"all {len(freq)} classes by rank", f"{len(head)} most frequent"))  # fmt: skip
    rank = np.arange(1, len(freq) + 1)
    fig.add_trace(go.Scatter(x=rank, y=freq["count"], mode="lines+markers", marker=dict(size=3, color=SERIES[0]),
                             customdata=freq["name"], hovertemplate="#%{x} %{customdata}: %{y}<extra></extra>",
                             showlegend=False), row=1, col=1)  # fmt: skip
    fig.add_trace(go.Bar(x=head["count"], y=head["name"], orientation="h", marker_color=SERIES[0], showlegend=False,
                         customdata=head["videos"], hovertemplate="%{y}: %{x} in %{customdata} videos<extra></extra>"),
                  row=1, col=2)  # fmt: skip
    fig.update_yaxes(type="log", dtick=1, title_text="instances", row=1, col=1)
    fig.update_xaxes(title_text="class rank", row=1, col=1)
    fig.update_yaxes(autorange="reversed", tickfont=dict(size=10), row=1, col=2)
    ratio = freq["count"].iloc[0] / max(freq["count"].iloc[-1], 1)
    title = f"{tables.split}: TAD class frequencies (most / least frequent: {ratio:.0f}×)"
    return _layout(fig, title, max(360, 16 * len(head) + 120))


def query_figure(tables: AnnotationTables, top: int = 25) -> go.Figure:
    """MR queries: words per query and the ``top`` most frequent words (stop words left out)."""
    mr = tables.task("mr")
    if mr.empty:
        return missing_figure("MR queries", f"split {tables.split!r} has no MR query with a segment")
    words = word_frequencies(tables, top)
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12,
                        subplot_titles=("words per query", f"{len(words)} most frequent words"))  # fmt: skip
    fig.add_trace(go.Histogram(x=mr["num_words"], marker_color=TASK_COLORS["mr"], xbins=dict(size=1), showlegend=False),
                  row=1, col=1)  # fmt: skip
    fig.add_trace(go.Bar(x=words["count"], y=words["word"], orientation="h", marker_color=TASK_COLORS["mr"],
                         customdata=words["queries"], showlegend=False,
                         hovertemplate="%{y}: %{x} times in %{customdata} queries<extra></extra>"),
                  row=1, col=2)  # fmt: skip
    fig.update_yaxes(title_text="queries", row=1, col=1)
    fig.update_xaxes(title_text="words", row=1, col=1)
    fig.update_yaxes(autorange="reversed", row=1, col=2)
    return _layout(fig, f"{tables.split}: MR queries ({len(mr)} with a segment)", max(360, 16 * len(words) + 120))


def overlap_figure(tables: AnnotationTables) -> go.Figure:
    """Each segment's largest tIoU with another segment of the same task and video (0: overlaps nothing)."""
    fig = go.Figure()
    for task in _tasks(tables):
        s = tables.task(task)
        if len(s):
            fig.add_trace(go.Histogram(x=s["max_tiou"], xbins=dict(start=0, end=1.0001, size=0.05), opacity=0.65,
                                       histnorm="percent", **_style(task, True)))  # fmt: skip
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(title="largest tIoU with another segment of the same video", range=[0, 1])
    fig.update_yaxes(title="% of segments")
    return _layout(fig, f"{tables.split}: overlap between segments of the same video", 360)


def _ecdf(values) -> tuple[np.ndarray, np.ndarray]:
    x = np.sort(np.asarray(values, dtype=float))
    return x, np.arange(1, len(x) + 1) / max(len(x), 1) * 100


def pairing_figure(tables: AnnotationTables, names: dict[str, str] | None = None) -> go.Figure:
    """TAD vs MR on one benchmark: videos with one task or both, and the two tasks' segment lengths as
    cumulative distributions (seconds on a log axis; zero-length segments counted in the legend)."""
    names = {"tad": "TAD", "mr": "MR", **(names or {})}
    v = tables.videos
    fig = make_subplots(rows=1, cols=3, column_widths=[0.24, 0.38, 0.38], horizontal_spacing=0.08,
                        subplot_titles=("videos", "segment length (s)", "segment length / video"))  # fmt: skip
    groups = {f"{names['tad']} only": (v["has_tad"] & ~v["has_mr"]).sum(), "both": (v["has_tad"] & v["has_mr"]).sum(),
              f"{names['mr']} only": (v["has_mr"] & ~v["has_tad"]).sum()}  # fmt: skip
    fig.add_trace(go.Bar(x=list(groups), y=list(groups.values()), text=list(groups.values()), textposition="outside",
                         marker_color=[SERIES[0], SERIES[2], SERIES[1]], showlegend=False, cliponaxis=False),
                  row=1, col=1)  # fmt: skip
    for task in _tasks(tables):
        s = tables.task(task)
        zero = int((s["length"] <= 0).sum())
        label = names[task] + (f" ({zero} zero-length)" if zero else "")
        for col, key in ((2, "length"), (3, "rel_length")):
            x, y = _ecdf(s.loc[s["length"] > 0, key])
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines", line=dict(color=TASK_COLORS[task], width=2),
                                     name=label, legendgroup=task, showlegend=col == 2), row=1, col=col)  # fmt: skip
    fig.update_xaxes(type="log", row=1, col=2)
    fig.update_xaxes(type="log", row=1, col=3)
    fig.update_yaxes(title_text="% of segments ≤ x", row=1, col=2)
    return _layout(fig, f"{tables.split}: {names['tad']} vs {names['mr']} — same videos? same kinds of moments?", 380)


def grid_alignment_or_reason(dataset, video_id: str, **kw) -> go.Figure:
    """``grid_alignment_figure`` of one video, or a figure saying which file it needs (features, embeddings)."""
    title = "seconds ↔ feature grid"
    if not dataset.has_features(video_id):
        paths = ", ".join(str(s.path) for s in dataset.feature_streams(video_id))
        return missing_figure(title, f"needs the features of {video_id}: {paths} not found")
    try:
        video = dataset.record(video_id)
    except DataError as err:
        return missing_figure(title, f"needs the text embeddings too: {err}")
    return grid_alignment_figure(video, **kw)


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
