"""The interactive timeline explorer: one call from a notebook.

    from unimd_lib.views import explore
    ex = explore("runs/synthetic")            # a run folder, config, Config or ViewTables
    ex                                        # video · task · class/query · score ≥ · top-k · tIoU + figure
    ex.set(video="syn00034", task="mr", top_k=5, tiou=0.3)   # the same, programmatically
    ex.lanes.predictions                      # what is plotted, as a table
    ex.ask("when did i wash the dishes?")    # a free-text query's moments on this video (the text box)

``interactive=False`` (headless runs, papermill): no widgets; displaying the explorer shows the current figure
and metrics at top level (nothing goes through an ``Output`` widget), and ``set`` still works.

DOM hooks for browser checks (all widgets carry stable CSS classes): ``unimd-timeline`` (root),
``unimd-video``, ``unimd-task``, ``unimd-item``, ``unimd-score-slider``, ``unimd-topk``, ``unimd-tiou``,
``unimd-free-text`` (the query text box), ``unimd-metrics``, ``unimd-figure`` (the Output holding the plotly
figure) and ``unimd-pred-count``, whose text reads "N of M predictions shown" with
``<b class="unimd-n-shown" data-count="N">``. The score slider's stops are the shown lane's own scores, so each
step hides at least one more prediction.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
from IPython import get_ipython
from IPython.display import HTML, display

from unimd_lib.views.figure import timeline_figure
from unimd_lib.views.free_text import Answer, free_text_lanes
from unimd_lib.views.style import metric_items
from unimd_lib.views.tables import ViewTables, load_tables
from unimd_lib.views.timeline_data import Controls, Lanes, TimelineData

TOP_K_CHOICES = (1, 2, 3, 5, 10, 20, 50, 100)
STYLE = {"description_width": "70px"}
TASK_STYLE = {"description_width": "40px", "button_width": "64px"}


def _tiou_choices(thresholds) -> list[float]:
    base = {round(x, 2) for x in np.arange(0.1, 0.95, 0.1)} | {round(float(t), 4) for t in thresholds}
    return sorted(base)


def _score_options(scores: np.ndarray) -> list[tuple[str, float]]:
    """Ascending distinct scores as (label, value); labels unique (more digits where needed)."""
    stops = np.unique(np.asarray(scores, dtype=np.float64))
    if len(stops) == 0:
        return [("–", 0.0)]
    for digits in (3, 4, 6, 17):
        labels = [f"{s:.{digits}f}" for s in stops]
        if len(set(labels)) == len(labels):
            break
    return list(zip(labels, stops.tolist()))


class TimelineExplorer:
    """Controls + lanes + figure for one ``ViewTables``. ``widget`` is the ipywidgets box (interactive)."""

    def __init__(
        self,
        tables: ViewTables,
        *,
        video: str | None = None,
        task: str | None = None,
        item: int | None = None,
        score_min: float = 0.0,
        top_k: int | None = 10,
        tiou: float | None = None,
        interactive: bool = True,
        answer: Answer | None = None,
    ):
        self.tables, self.data, self.interactive = tables, TimelineData(tables), interactive
        self.answer, self.free_text = answer, ""
        videos = self.data.videos()
        if not videos:
            raise ValueError("no videos with ground truth or predictions in these tables")
        video = video if video is not None else videos[0]
        task = task or self.data.tasks(video)[0]
        if tiou is None:
            tiou = 0.5 if task == "tad" or self.tables.mr.protocol != "ego4d_nlq" else 0.3
        self.controls = Controls(video, task, item, score_min, top_k, float(tiou))
        self.lanes: Lanes = self.data.lanes(self.controls)
        self.controls = self.lanes.controls
        self.figure = timeline_figure(self.lanes)
        self.widget = self._build() if interactive else None
        self._render()

    # ---- public ---------------------------------------------------------------------------------------------
    @property
    def n_shown(self) -> int:
        return self.lanes.n_shown

    def set(self, **changes) -> TimelineExplorer:
        """Change controls: ``video, task, item, score_min, top_k, tiou`` (None top_k = all). A new task starts
        with every prediction shown (TAD and MR scores are on different scales); a new video or item keeps the
        score threshold."""
        unknown = set(changes) - {"video", "task", "item", "score_min", "top_k", "tiou"}
        if unknown:
            raise TypeError(f"unknown control(s) {sorted(unknown)}")
        c = self.controls
        video = changes.get("video", c.video_id)
        task = changes.get("task", c.task if c.task in self.data.tasks(video) else None)
        task = task or self.data.tasks(video)[0]
        lane_changed = video != c.video_id or task != c.task
        item = changes.get("item", None if lane_changed else c.item)
        score_min = changes.get("score_min", -np.inf if task != c.task else c.score_min)
        new = Controls(
            video,
            task,
            item,
            float(score_min),
            changes.get("top_k", c.top_k),
            float(changes.get("tiou", c.tiou)),
        )
        self._apply(new)
        return self

    def ask(self, text: str | None) -> TimelineExplorer:
        """Show the moments a free-text query gets on the current video (its ground truth too when the text is
        one of the video's annotated queries); an empty text goes back to the selected class / query."""
        self.free_text = (text or "").strip()
        self._apply(self.controls)
        return self

    def _free_text_lanes(self) -> Lanes:
        if self.answer is None:
            raise ValueError("this explorer has no model to ask: pass answer=unimd_lib.train.query.run_answer(run)")
        c = self.controls
        top_k = c.top_k if c.top_k is not None else 100
        moments = self.answer(c.video_id, self.free_text, top_k)
        return free_text_lanes(self.tables, c, self.free_text, moments, self.data.duration(c.video_id))

    def metrics_table(self) -> pd.DataFrame:
        return pd.DataFrame(metric_items(self.lanes), columns=["metric", "value"])

    def _ipython_display_(self) -> None:
        if self.interactive:
            display(self.widget)
        else:  # headless: top-level outputs only (the Output-widget stall, ENVIRONMENT.md §3)
            display(HTML(self._count_html() + self._metrics_html()))
            display(self.figure)

    # ---- state ----------------------------------------------------------------------------------------------
    def _apply(self, new: Controls) -> None:
        self.controls = new
        self.lanes = self.data.lanes(new)
        self.controls = self.lanes.controls
        if self.widget is not None:
            self._sync_widgets()
        if self.free_text:  # the text box wins over the class / query menu until it is cleared
            self.lanes = self._free_text_lanes()
        self.figure = timeline_figure(self.lanes)
        self._render()

    # ---- widgets ----------------------------------------------------------------------------------------------
    def _build(self):
        import ipywidgets as w

        def tagged(widget, cls):
            widget.add_class(cls)
            return widget

        self._busy = True
        v = self.data.videos()
        label = {
            row.video_id: f"{row.video_id}  ({'+'.join(t.upper() for t in ('tad', 'mr') if getattr(row, t))})"
            for row in self.tables.videos.itertuples()
        }
        self.w_video = tagged(
            w.Dropdown(options=[(label[x], x) for x in v], description="Video", style=STYLE), "unimd-video"
        )
        self.w_task = tagged(
            w.ToggleButtons(
                options=[("TAD", "tad"), ("MR", "mr")],
                description="Task",
                style=TASK_STYLE,
                layout=w.Layout(width="auto", display="flex", flex_flow="row", align_items="center"),
            ),
            "unimd-task",
        )
        self.w_item = tagged(w.Dropdown(description="Class", style=STYLE, layout=w.Layout(width="480px")), "unimd-item")
        self.w_score = tagged(
            w.SelectionSlider(
                options=[("–", 0.0)],
                description="Score ≥",
                continuous_update=False,
                style=STYLE,
                layout=w.Layout(width="420px"),
            ),
            "unimd-score-slider",
        )
        self.w_topk = tagged(
            w.Dropdown(
                options=[(str(k), k) for k in TOP_K_CHOICES] + [("all", 0)],
                description="Top-k",
                style=STYLE,
                layout=w.Layout(width="160px"),
            ),
            "unimd-topk",
        )
        thresholds = self.tables.tad.thresholds if self.tables.tad is not None else ()
        if self.tables.mr is not None:
            thresholds = (*thresholds, *self.tables.mr.rule.thresholds)
        self.w_tiou = tagged(
            w.SelectionSlider(
                options=[(f"{t:.2f}", t) for t in _tiou_choices(thresholds)],
                description="tIoU",
                continuous_update=False,
                style=STYLE,
                layout=w.Layout(width="420px"),
            ),
            "unimd-tiou",
        )
        self.w_text = tagged(
            w.Text(
                placeholder="ask a question about this video (Enter)" if self.answer else "open a run to ask",
                description="Ask",
                continuous_update=False,
                disabled=self.answer is None,
                style=STYLE,
                layout=w.Layout(width="480px"),
            ),
            "unimd-free-text",
        )
        self.w_text.observe(lambda change: None if self._busy else self.ask(change["new"]), names="value")
        self.w_count = tagged(w.HTML(), "unimd-pred-count")
        self.w_metrics = tagged(w.HTML(), "unimd-metrics")
        self.w_out = tagged(w.Output(layout=w.Layout(width="100%")), "unimd-figure")
        self._sync_widgets()
        for widget, name in (
            (self.w_video, "video"),
            (self.w_task, "task"),
            (self.w_item, "item"),
            (self.w_score, "score_min"),
            (self.w_topk, "top_k"),
            (self.w_tiou, "tiou"),
        ):
            widget.observe(lambda change, name=name: self._on_change(name, change["new"]), names="value")
        self._busy = False
        rows = [
            w.HBox([self.w_video, self.w_task]),
            self.w_item,
            self.w_text,
            w.HBox([self.w_score, self.w_topk]),
            w.HBox([self.w_tiou, self.w_count]),
            self.w_metrics,
            self.w_out,
        ]
        return tagged(w.VBox(rows, layout=w.Layout(width="100%")), "unimd-timeline")

    def _on_change(self, name: str, value) -> None:
        if self._busy:
            return
        if name == "top_k":
            value = None if value == 0 else value
        self.set(**{name: value})

    def _sync_widgets(self) -> None:
        """Widgets ← controls (options of the item and score widgets follow the lane)."""
        busy, self._busy = self._busy, True
        try:
            c = self.controls
            self.w_video.value = c.video_id
            tasks = self.data.tasks(c.video_id)
            self.w_task.options = [(t.upper(), t) for t in tasks]
            self.w_task.value = c.task
            self.w_item.description = "Class" if c.task == "tad" else "Query"
            self.w_item.options = [(lab, i) for i, lab in self.data.items(c.video_id, c.task)]
            self.w_item.value = c.item
            self.w_topk.value = 0 if c.top_k is None else c.top_k
            if c.top_k is not None and c.top_k not in TOP_K_CHOICES:
                self.w_topk.options = [*self.w_topk.options, (str(c.top_k), c.top_k)]
                self.w_topk.value = c.top_k
            opts = _score_options(self.data.lane_scores(c))
            self.w_score.options = opts
            values = np.array([v for _, v in opts])
            at = np.flatnonzero(values >= c.score_min)  # the lowest stop that keeps the threshold's meaning
            stop = float(values[at[0]] if len(at) else values[-1])
            self.w_score.value = stop
            if stop != c.score_min:  # the slider can only sit on a stop: make the controls say the same
                self.controls = Controls(c.video_id, c.task, c.item, stop, c.top_k, c.tiou)
                self.lanes = self.data.lanes(self.controls)
                self.figure = timeline_figure(self.lanes)
            stops = [t for _, t in self.w_tiou.options]
            if not np.isclose(stops, c.tiou, rtol=0, atol=1e-9).any():  # a value set programmatically
                self.w_tiou.options = [(f"{t:.2f}", t) for t in sorted([*stops, c.tiou])]
            self.w_tiou.value = min((t for _, t in self.w_tiou.options), key=lambda t: abs(t - c.tiou))
        finally:
            self._busy = busy

    def _count_html(self) -> str:
        n, m = self.lanes.n_shown, self.lanes.n_lane
        count = f'<b class="unimd-n-shown" data-count="{n}">{n}</b>'
        return f'<span class="unimd-count">{count} of {m} predictions shown</span>'

    def _metrics_html(self) -> str:
        cells = "".join(
            f'<div style="padding:2px 10px;border-left:3px solid #e6e6e6"><div style="color:#6b6b6b;font-size:11px">'
            f'{html.escape(k)}</div><div style="font-size:14px;font-weight:600">{html.escape(v)}</div></div>'
            for k, v in metric_items(self.lanes)
        )
        return f'<div style="display:flex;flex-wrap:wrap;gap:4px;margin:4px 0">{cells}</div>'

    def _render(self) -> None:
        if self.widget is None:
            return
        self.w_count.value = self._count_html()
        self.w_metrics.value = self._metrics_html()
        if get_ipython() is None:  # no kernel (scripts, tests): an Output widget captures nothing
            return
        with self.w_out:
            self.w_out.clear_output(wait=True)
            display(self.figure)


def explore(
    source,
    split: str | None = None,
    *,
    interactive: bool = True,
    video: str | None = None,
    task: str | None = None,
    item: int | None = None,
    score_min: float = 0.0,
    top_k: int | None = 10,
    tiou: float | None = None,
    answer: Answer | None = None,
    **load,
) -> TimelineExplorer:
    """The explorer of a run folder / config / ``Config`` (``load_tables(source, split, **load)``) or of
    ready ``ViewTables``. Display the result in a notebook; ``interactive=False`` for headless runs. The text
    box asks ``answer``: any ``(video_id, text, top_k) -> moments`` callable, e.g. a run's model through
    ``unimd_lib.train.query.run_answer(run_dir)``."""
    tables = source if isinstance(source, ViewTables) else load_tables(source, split, **load)
    return TimelineExplorer(
        tables, video=video, task=task, item=item, score_min=score_min, top_k=top_k, tiou=tiou,
        interactive=interactive, answer=answer,
    )  # fmt: skip
