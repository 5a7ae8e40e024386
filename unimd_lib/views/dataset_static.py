"""Data-exploration figures drawn with matplotlib (for papers and the README), in the views' style."""

from __future__ import annotations

import numpy as np

from unimd_lib.views.dataset_figures import TASK_COLORS
from unimd_lib.views.dataset_stats import AnnotationTables
from unimd_lib.views.error_figures import _mpl_axes
from unimd_lib.views.style import INK


def segment_lengths_plot(
    tables: AnnotationTables, names: dict[str, str] | None = None, title: str | None = None, bins: int = 40
):
    """TAD vs MR segment lengths, in seconds and as a fraction of the video, as histograms over log-spaced bins
    (% of each task's segments; zero-length segments cannot sit on a log axis and are counted in the legend)."""
    names = {"tad": "TAD", "mr": "MR", **(names or {})}
    fig, axes = _mpl_axes(2, 8.6, 3.0)
    panels = ((axes[0], "length", "segment length (s)"), (axes[1], "rel_length", "segment length / video"))
    for ax, key, label in panels:
        seg = tables.segments[tables.segments["length"] > 0]
        lo, hi = seg[key].min(), seg[key].max()
        edges = np.geomspace(lo, hi, bins + 1)
        for task in ("tad", "mr"):
            all_ = tables.task(task)
            s = all_.loc[all_["length"] > 0, key]
            if s.empty:
                continue
            zero = len(all_) - len(s)
            share = np.histogram(s, edges)[0] / len(all_) * 100
            unit = " s" if key == "length" else ""
            text = f"{names[task]}: {len(all_):,} segments, median {np.median(all_[key]):.3g}{unit}"
            text += f" ({zero:,} zero-length)" if zero else ""
            ax.stairs(share, edges, fill=True, alpha=0.45, color=TASK_COLORS[task], label=text)
            ax.stairs(share, edges, color=TASK_COLORS[task], lw=1.0)
        ax.set_ylim(0, ax.get_ylim()[1] * 1.3)  # room for the legend
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("% of the task's segments")
        ax.legend(fontsize=7, frameon=False, loc="upper left")
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontsize=10, fontweight="bold", color=INK)
    return fig
