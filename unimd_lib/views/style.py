"""One look for every view (plotly and matplotlib): colour-blind-safe Okabe-Ito colours, the same names and
the same metric wording everywhere."""

from __future__ import annotations

import math

from unimd_lib.views.timeline_data import ANSWER, FP, HIT, MISSED, TP, Lanes

# Okabe-Ito: hits cool (green / blue), errors warm (orange / vermillion); missed GT also hatched
COLORS = {HIT: "#009E73", MISSED: "#E69F00", TP: "#0072B2", FP: "#D55E00", ANSWER: "#CC79A7"}
NAMES = {HIT: "GT detected", MISSED: "GT missed", TP: "true positive", FP: "false positive", ANSWER: "answer (no GT)"}
ORDER = (HIT, MISSED, TP, FP)  # trace / legend order (ANSWER: only in free-text lanes)
INK, MUTED, GRID, BAND = "#222222", "#6b6b6b", "#e6e6e6", "#f4f4f4"
FONT = "Inter, 'Helvetica Neue', Helvetica, Arial, sans-serif"
ERROR_COLORS = {
    "True positive": "#009E73",
    "Double detection": "#56B4E9",
    "Wrong label": "#0072B2",
    "Localization": "#E69F00",
    "Confusion": "#CC79A7",
    "Background": "#D55E00",
}
SERIES = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")


def fmt(v, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def metric_items(lanes: Lanes) -> list[tuple[str, str]]:
    """(name, value) pairs of the lane metrics, in reading order."""
    m, c = lanes.metrics, lanes.controls
    if c.task == "tad":
        return [
            ("GT", fmt(m["gt"])),
            ("shown", f"{m['shown']} of {lanes.n_lane}"),
            ("TP / FP", f"{m['tp']} / {m['fp']}"),
            ("GT detected", f"{m['hit']} / {m['gt']}"),
            ("precision", fmt(m["precision"])),
            ("recall", fmt(m["recall"])),
            (f"AP@{c.tiou:.2f} (this video)", fmt(m["ap"], 3)),
            (f"AP@{c.tiou:.2f} (split)", fmt(m["split_ap"], 3)),
        ]
    return [
        ("shown", f"{m['shown']} of {lanes.n_lane}"),
        ("hit in top 1", _yes(m["r@1"])),
        (f"hit in top {m['k']}", _yes(m["r@k"])),
        ("first hit at rank", fmt(m["first_hit_rank"])),
        ("IoU of #1", fmt(m["iou@1"], 3)),
        ("best IoU shown", fmt(m["best_iou"], 3)),
    ]


def _yes(v) -> str:
    return "–" if v is None else ("yes" if v else "no")


def metrics_line(lanes: Lanes, per_line: int | None = None, sep: str = "\n") -> str:
    """The metrics as text, ``per_line`` items per line (all on one line when None)."""
    items = [f"{k} {v}" for k, v in metric_items(lanes)]
    n = per_line or len(items)
    return sep.join("  ·  ".join(items[i : i + n]) for i in range(0, len(items), n))


def controls_text(lanes: Lanes) -> str:
    c = lanes.controls
    score = "any" if c.score_min is None or c.score_min <= 0 or c.score_min == float("-inf") else f"{c.score_min:.3f}"
    k = "all" if c.top_k is None else str(c.top_k)
    return f"{rule_text(lanes)}  ·  score ≥ {score}  ·  top-k {k}"


def rule_text(lanes: Lanes) -> str:
    word = "tIoU" if lanes.controls.task == "tad" else "IoU"
    return f"TP: {word} {lanes.comparison} {lanes.controls.tiou:.2f}"
