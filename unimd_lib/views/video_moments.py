"""Predicted moments of your own video: a timeline (one lane per query, ranked moments as bars, score as
opacity) above a strip of thumbnails of the frames at the centre of each top moment (matplotlib)."""

from __future__ import annotations

import os

import pandas as pd

from unimd_lib.views.style import INK, MUTED, SERIES


def plot_video_moments(
    video_file: str | os.PathLike, moments: pd.DataFrame, duration: float, *, thumbnails: int = 5, height: int = 96
):
    """``moments``: columns query, rank, t_start, t_end, score (``moments_in_features``). The thumbnails show
    the ``thumbnails`` best-scored moments overall, at their centres. Returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    from unimd_lib.video.decode import frames_at

    queries = list(dict.fromkeys(moments["query"]))
    top = moments.nlargest(thumbnails, "score").reset_index(drop=True)
    n_thumb = max(len(top), 1)
    fig = plt.figure(figsize=(max(8.0, 2.0 * n_thumb), 1.0 + 0.45 * len(queries) + 1.9))
    grid = fig.add_gridspec(2, n_thumb, height_ratios=[0.45 * max(len(queries), 1) + 0.6, 1.9])
    ax = fig.add_subplot(grid[0, :])
    best = moments["score"].max() if len(moments) else 1.0
    for lane, q in enumerate(queries):
        rows = moments[moments["query"] == q]
        colour = SERIES[lane % len(SERIES)]
        for r in rows.itertuples():
            ax.barh(lane, r.t_end - r.t_start, left=r.t_start, height=0.6, color=colour,
                    alpha=0.25 + 0.75 * r.score / best, edgecolor=INK, linewidth=0.4)  # fmt: skip
            ax.text(r.t_start, lane, f" {r.rank}", va="center", ha="left", fontsize=7, color=INK)
    for i, r in top.iterrows():
        ax.annotate(chr(ord("A") + i), ((r.t_start + r.t_end) / 2, queries.index(r.query) - 0.42),
                    ha="center", va="bottom", fontsize=8, color=MUTED)  # fmt: skip
    ax.set_yticks(range(len(queries)), queries)
    ax.invert_yaxis()
    ax.set_xlim(0, duration)
    ax.set_xlabel("seconds")
    ax.set_title("predicted moments (rank; opacity = score)", fontsize=10, loc="left")
    frames = frames_at(video_file, [(r.t_start + r.t_end) / 2 for r in top.itertuples()], height) if len(top) else []
    for i, (img, r) in enumerate(zip(frames, top.itertuples())):
        t_ax = fig.add_subplot(grid[1, i])
        t_ax.imshow(img)
        t_ax.set_axis_off()
        t_ax.set_title(f"{chr(ord('A') + i)} {r.query}\n{r.t_start:.1f}–{r.t_end:.1f} s · {r.score:.2f}", fontsize=8)
    fig.tight_layout()
    return fig
