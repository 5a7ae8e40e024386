"""Training curves from a run folder (``log.csv`` + ``metrics.csv``), static or refreshed live during training."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from unimd_lib.formats.run_layout import TRAIN_LOG, VAL_LOG
from unimd_lib.views.style import FONT, GRID, INK, SERIES


def read_logs(run_dir: str | os.PathLike) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-iteration log, per-validation metrics) of a run; empty frames before the first row."""
    root = Path(run_dir)

    def read(name: str) -> pd.DataFrame:
        p = root / name
        return pd.read_csv(p) if p.exists() and p.stat().st_size else pd.DataFrame()

    return read(TRAIN_LOG), read(VAL_LOG)


def training_curves(
    run_dir: str | os.PathLike, metrics: list[str] | None = None, title: str | None = None
) -> go.Figure:
    """Loss (total and per task) and learning rate per iteration; validation metrics per epoch."""
    log, val = read_logs(run_dir)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("training loss", "validation"), specs=[[{"secondary_y": True},
                        {}]], horizontal_spacing=0.1)  # fmt: skip
    if not log.empty:
        for i, (col, name) in enumerate((("loss", "total"), ("tad_loss", "TAD"), ("mr_loss", "MR"))):
            if col in log and log[col].notna().any():
                fig.add_trace(go.Scatter(x=log["iteration"], y=log[col], name=f"{name} loss", mode="lines",
                                         line=dict(color=SERIES[i], width=1.5)), row=1, col=1)  # fmt: skip
        fig.add_trace(go.Scatter(x=log["iteration"], y=log["lr"], name="learning rate", mode="lines",
                                 line=dict(color="#999999", dash="dot")), row=1, col=1, secondary_y=True)  # fmt: skip
    if not val.empty:
        shown = metrics or [c for c in val.columns if c.endswith(("average_mAP", "/mAP", "R1@0.30", "R1@0.50"))]
        for i, col in enumerate(c for c in shown if c in val):
            fig.add_trace(go.Scatter(x=val["epoch"], y=val[col], name=col, mode="lines+markers",
                                     line=dict(color=SERIES[(i + 3) % len(SERIES)])), row=1, col=2)  # fmt: skip
    fig.update_yaxes(title="loss", type="log", row=1, col=1, secondary_y=False, gridcolor=GRID)
    fig.update_yaxes(title="lr", row=1, col=1, secondary_y=True, showgrid=False)
    fig.update_yaxes(title="metric", range=[0, None], row=1, col=2, gridcolor=GRID)
    fig.update_xaxes(title="iteration", row=1, col=1, gridcolor=GRID)
    fig.update_xaxes(title="epoch", row=1, col=2, gridcolor=GRID)
    fig.update_layout(
        title=dict(text=title or f"run {Path(run_dir).name}", x=0.01),
        font=dict(family=FONT, size=12, color=INK),
        template="plotly_white",
        height=380,
        margin=dict(l=60, r=20, t=70, b=40),
        legend=dict(orientation="h", y=-0.2),
    )
    return fig


class LiveCurves:
    """Redraws ``training_curves`` inside a small ipywidgets ``Output`` after every validation.

    Pass ``live.on_validation`` to ``train(..., on_validation=...)`` and display ``live.widget``. The figure is
    ~20 KB, well under the size that stalls headless notebook execution inside an ``Output`` widget.
    """

    def __init__(self, run_dir: str | os.PathLike, metrics: list[str] | None = None):
        import ipywidgets as widgets

        self.run_dir, self.metrics = run_dir, metrics
        self.widget = widgets.Output(layout={"min_height": "400px"})

    def on_validation(self, epoch: int, metrics: dict[str, float]) -> None:
        from IPython.display import clear_output, display

        with self.widget:
            clear_output(wait=True)
            display(training_curves(self.run_dir, self.metrics, title=f"epoch {epoch}"))


HEADLINE = ("tad/average_mAP", "tad/mAP@0.50", "tad/mAP", "mr/R1@0.30", "mr/R1@0.50", "mr/R5@0.30", "mr/R5@0.50")


def results_table(results: dict[str, dict[str, float]], metrics: tuple[str, ...] = HEADLINE) -> pd.DataFrame:
    """One row per named result (a run's metrics dict), headline metrics in percent; absent ones blank."""
    rows = {name: {m: 100 * v for m, v in values.items() if m in metrics} for name, values in results.items()}
    table = pd.DataFrame.from_dict(rows, orient="index")
    return table[[m for m in metrics if m in table.columns]].round(2)
