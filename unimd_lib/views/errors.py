"""Error analysis beyond the metrics, on the protocols' own matching (``eval.assignments``) and AP
(``evaluate_detection``), following DETAD (Alwassel et al., "Diagnosing Error in Temporal Action Detectors",
ECCV 2018; rules as in its ``analyze_fp_error_types`` / ``false_*_analysis`` code).

TAD false positives (``fp_types``). At threshold α, a false positive is a scored prediction the protocol's greedy
matching leaves unmatched. Let G* be the GT instance of the prediction's video, of *any* class, with the
highest tIoU (``segment_tiou``; first in GT order on ties; NaN counts as no overlap) and t* that tIoU:

* ``Double detection``: t* ≥ α and G* has the prediction's class (G* was taken by a higher-ranked prediction:
  the greedy matching would have given it otherwise);
* ``Wrong label``: t* ≥ α, G* of another class;
* ``Localization``: 0.1 ≤ t* < α, G* of its class;
* ``Confusion``: 0.1 ≤ t* < α, G* of another class;
* ``Background``: t* < 0.1, or no GT in the video.

Every false positive gets exactly one type; true positives are ``True positive``. The class of a prediction is
the class the protocol scores it as. ``fp_profile`` splits each class's ranking into consecutive blocks of n_j
predictions (n_j = GT instances of the class): block g ("(g+1)G") holds ranks [g·n_j, (g+1)·n_j) (``cumulative``:
ranks [0, (g+1)·n_j)); per block, the share of each type, averaged over thresholds. ``fp_impact``: the
average-mAP gain from removing one type's false positives (removing false positives never changes the
matching of the others, so ``evaluate_detection`` on the rest is exact).

TAD false negatives (``fn_by``): a GT instance missed by the matching at α; per bin of a characteristic,
missed / instances, averaged over thresholds. Characteristics: ``length`` (seconds), ``coverage`` (length /
video duration) and ``instances`` (GT of the same class in the video); bins ``(lo, hi]`` (the first includes lo).

MR (``mr_recall_curve``, ``mr_recall_by``): per query, its windows ranked as the protocol ranks them, hit by the
protocol's IoU and comparison; R@k(θ) = queries with a hit among their first k windows / queries (exactly the
NLQ and ActivityNet-Captions recall at their thresholds; Charades-STA divides by queries + 1e-5).

Cost: ``fp_impact`` re-scores once per (threshold, error type); ActivityNet-1.3 val with fused predictions
(65k rows, 10 thresholds) takes ~2 s for the whole ``error_analysis`` on 2 CPU cores.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from unimd_lib.eval.assignments import DetectionAssignment, assign_detections, first_hit_rank
from unimd_lib.eval.detection_map import evaluate_detection
from unimd_lib.eval.detection_match import expand_pairs, segment_tiou
from unimd_lib.views.tables import MrTables, TadTables, ViewTables

TYPES = ("True positive", "Double detection", "Wrong label", "Localization", "Confusion", "Background")
ERRORS = TYPES[1:]
MIN_TIOU = 0.1
LENGTH_BINS = {"anet": (0, 30, 60, 120, 180, np.inf), "short": (0, 3, 6, 12, 18, np.inf)}  # DETAD ANet / THUMOS
COVERAGE_BINS = {"anet": (0, 0.2, 0.4, 0.6, 0.8, 1.0), "short": (0, 0.02, 0.04, 0.06, 0.08, 1.0)}
INSTANCE_BINS = (-1, 1, 4, 8, np.inf)  # DETAD ANet: 1, 2-4, 5-8, 9+
SIZE_LABELS = ("XS", "S", "M", "L", "XL")
WORD_BINS = (0, 5, 8, 11, 15, np.inf)


def _assignment(tad: TadTables, thresholds) -> DetectionAssignment:
    return assign_detections(tad.gt, tad.predictions, thresholds)


def top_gt(tad: TadTables) -> tuple[np.ndarray, np.ndarray]:
    """Per scored prediction: (GT row with the highest tIoU in its video over all classes, -1 if none; that tIoU)."""
    gt, p = tad.gt, tad.predictions
    vids = pd.Index(pd.unique(gt.video_id))
    gv = vids.get_indexer(gt.video_id)
    order = np.argsort(gv, kind="stable")  # GT rows grouped by video, GT order inside
    pv = vids.get_indexer(p["video_id"].astype(str))
    start = np.searchsorted(gv[order], np.maximum(pv, 0))
    count = np.where(pv >= 0, np.searchsorted(gv[order], pv, side="right") - start, 0)
    pred, pos = expand_pairs(np, count, start)
    g = order[pos]
    ps, pe = p["t_start"].to_numpy(np.float64), p["t_end"].to_numpy(np.float64)
    tiou = segment_tiou(np, ps[pred], pe[pred], gt.t_start[g], gt.t_end[g])
    tiou = np.where(np.isnan(tiou), -np.inf, tiou)
    best_row, best = np.full(len(p), -1, dtype=np.int64), np.full(len(p), -np.inf)
    if len(pred):
        o = np.lexsort((g, -tiou, pred))  # per prediction: highest tIoU, then first GT
        first = o[np.r_[True, pred[o][1:] != pred[o][:-1]]]
        best_row[pred[first]], best[pred[first]] = g[first], tiou[first]
    return best_row, best


def fp_types(tad: TadTables, thresholds=None, assignment: DetectionAssignment | None = None) -> pd.DataFrame:
    """Type of every scored prediction (rows of ``tad.predictions``) at each threshold: one column per
    threshold (``TYPES``; ``None`` for predictions the protocol ignores: labels outside its classes)."""
    thresholds = tad.thresholds if thresholds is None else tuple(thresholds)
    a = assignment if assignment is not None else _assignment(tad, thresholds)
    row, t_star = top_gt(tad)
    same = (row >= 0) & (tad.gt.label[np.maximum(row, 0)] == a.column)
    out = {}
    for t, thr in enumerate(thresholds):
        kind = np.select(
            [a.tp[t], (t_star >= thr) & same, t_star >= thr, (t_star >= MIN_TIOU) & same, t_star >= MIN_TIOU],
            list(TYPES[:5]),
            default=TYPES[5],
        ).astype(object)
        kind[a.column < 0] = None
        out[f"{thr:.2f}"] = kind
    return pd.DataFrame(out)


def fp_profile(tad: TadTables, groups: int = 10, *, cumulative: bool = False, thresholds=None) -> pd.DataFrame:
    """Share of each type among the top predictions of every class, in blocks of n_j (DETAD's profile):
    index ``1G..{groups}G``, columns ``TYPES`` (fractions, averaged over thresholds), plus ``predictions``."""
    thresholds = tad.thresholds if thresholds is None else tuple(thresholds)
    a = _assignment(tad, thresholds)
    types = fp_types(tad, thresholds, a)
    ok = a.column >= 0
    n_j = np.bincount(tad.gt.label, minlength=tad.gt.num_classes)[np.maximum(a.column, 0)]
    block = np.where(ok, a.rank // np.maximum(n_j, 1), groups)
    rows = []
    for g in range(groups):
        sel = ok & ((block <= g) if cumulative else (block == g))
        n = int(sel.sum())
        shares = {k: 0.0 for k in TYPES}
        for col in types.columns:
            counts = pd.Series(types[col].to_numpy()[sel]).value_counts()
            for k in TYPES:
                shares[k] += counts.get(k, 0) / n / len(types.columns) if n else 0.0
        rows.append({"group": f"{g + 1}G", **shares, "predictions": n})
    return pd.DataFrame(rows).set_index("group")


def fp_impact(tad: TadTables, thresholds=None) -> pd.DataFrame:
    """Average-mAP (the protocol's) after removing each false-positive type, and the gain over the baseline."""
    thresholds = tad.thresholds if thresholds is None else tuple(thresholds)
    types = fp_types(tad, thresholds)
    base = evaluate_detection(tad.gt, tad.predictions, thresholds, top_k=(1,))
    rows = []
    for err in ERRORS:
        maps = [
            evaluate_detection(tad.gt, tad.predictions[(types[col] != err).to_numpy()], [thr], top_k=(1,)).mAP[0]
            for col, thr in zip(types.columns, thresholds)
        ]
        rows.append({"type": err, "removed": int((types == err).to_numpy().sum()), "average_mAP": float(np.mean(maps))})
    out = pd.DataFrame(rows).set_index("type")
    out["gain"] = out["average_mAP"] - base.average_mAP
    return out


def gt_characteristics(tad: TadTables) -> pd.DataFrame:
    """Per GT row: ``length`` (s), ``coverage`` (length / duration) and ``instances`` (same class, same video)."""
    g = tad.gt_table
    length = g["t_end"] - g["t_start"]
    inst = g.groupby(["video_id", "label_id"])["label_id"].transform("size")
    return pd.DataFrame({"length": length, "coverage": length / g["duration"], "instances": inst})


def _bin(values: pd.Series, edges, labels=None) -> pd.Categorical:
    edges = tuple(edges)
    if labels is None:
        labels = SIZE_LABELS[: len(edges) - 1] if len(edges) - 1 <= len(SIZE_LABELS) else None
    return pd.cut(values, bins=edges, labels=labels, include_lowest=True)


def fn_by(tad: TadTables, characteristic: str = "length", bins=None, labels=None, thresholds=None) -> pd.DataFrame:
    """False-negative rate per bin of ``length`` / ``coverage`` / ``instances`` (see the module docstring):
    ``bin, range, gt, share, fn_rate`` (mean over thresholds) and ``fn@<thr>`` per threshold."""
    thresholds = tad.thresholds if thresholds is None else tuple(thresholds)
    if bins is None:
        preset = "anet" if tad.protocol == "anet" else "short"
        bins = {"length": LENGTH_BINS[preset], "coverage": COVERAGE_BINS[preset], "instances": INSTANCE_BINS}[
            characteristic
        ]
    values = gt_characteristics(tad)[characteristic]
    cat = _bin(values, bins, labels)
    missed = _assignment(tad, thresholds).gt_matched_by < 0  # [T, G]
    df = pd.DataFrame({"bin": cat, **{f"fn@{thr:.2f}": missed[t] for t, thr in enumerate(thresholds)}})
    out = df.groupby("bin", observed=False).agg(["sum", "size"])
    table = pd.DataFrame({"gt": out.iloc[:, 1].astype(int)})
    for col in df.columns[1:]:
        table[col] = out[(col, "sum")] / out[(col, "size")].where(out[(col, "size")] > 0)
    table.insert(1, "share", table["gt"] / max(len(values), 1))
    table.insert(2, "fn_rate", table[[c for c in table.columns if c.startswith("fn@")]].mean(axis=1))
    edges = tuple(bins)
    table.insert(0, "range", [f"({_num(a)}, {_num(b)}]" for a, b in zip(edges[:-1], edges[1:])])
    table.index = table.index.astype(str)
    table.index.name = characteristic
    return table


def _num(x: float) -> str:
    return "∞" if np.isinf(x) else f"{x:g}"


def ap_per_class(tad: TadTables, thresholds=None) -> pd.DataFrame:
    """The protocol's AP per class (``evaluate_detection``), best first: ``label_id, class_name, gt,
    predictions, AP@<thr>..., mean_AP``."""
    thresholds = tad.thresholds if thresholds is None else tuple(thresholds)
    r = evaluate_detection(tad.gt, tad.predictions, thresholds, top_k=(1,))
    ids = r.class_label_ids
    df = pd.DataFrame({"label_id": ids, "class_name": [tad.class_name(i) for i in ids]})
    df["gt"] = np.bincount(tad.gt.label, minlength=len(ids))
    a = _assignment(tad, thresholds[:1])
    df["predictions"] = np.bincount(a.column[a.column >= 0], minlength=len(ids))
    for t, thr in enumerate(thresholds):
        df[f"AP@{thr:.2f}"] = r.ap[t]
    df["mean_AP"] = r.ap.mean(axis=0)
    return df.sort_values("mean_AP", ascending=False, kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------------------- MR
def _query_hits(mr: MrTables, thresholds, ks) -> np.ndarray:
    """``hit[t, k, q]``: query q has a hit among its first k windows at thresholds[t]."""
    p, Q = mr.predictions, len(mr.queries)
    q, rank, iou = p["query"].to_numpy(), p["rank"].to_numpy(), p["iou"].to_numpy()
    nan_first = first_hit_rank(q, rank, np.isnan(iou), Q) if mr.rule.nan_spoils_top_k else None
    out = np.zeros((len(thresholds), len(ks), Q), dtype=bool)
    for t, thr in enumerate(thresholds):
        best = first_hit_rank(q, rank, mr.rule.hit(iou, thr), Q)
        for j, k in enumerate(ks):
            out[t, j] = (best < k) & (True if nan_first is None else ~(nan_first < k))
    return out


def mr_recall_curve(mr: MrTables, thresholds=None, ks=None) -> pd.DataFrame:
    """R@k against the IoU threshold: index ``iou`` (0.05…0.95 and the protocol's own), columns ``R@k``."""
    ks = tuple(mr.rule.ranks if ks is None else ks)
    if thresholds is None:
        thresholds = sorted({round(x, 2) for x in np.arange(0.05, 0.96, 0.05)} | set(mr.rule.thresholds))
    hits = _query_hits(mr, thresholds, ks)
    Q = max(len(mr.queries), 1)
    df = pd.DataFrame({f"R@{k}": hits[:, j].sum(axis=1) / Q for j, k in enumerate(ks)}, index=list(thresholds))
    df.index.name = "iou"
    df["protocol_threshold"] = [any(np.isclose(t, mr.rule.thresholds)) for t in thresholds]
    return df


def mr_recall_by(mr: MrTables, by: str = "length", bins=None, thresholds=None, ks=None) -> pd.DataFrame:
    """R@k per bin of the GT moment ``length`` (s; default: quintiles), its ``coverage`` (length / duration;
    quintiles) or the query's ``words`` (1-5, 6-8, 9-11, 12-15, 16+): ``range, queries, R@k@θ...``."""
    ks = tuple(mr.rule.ranks if ks is None else ks)
    thresholds = tuple(mr.rule.thresholds if thresholds is None else thresholds)
    q = mr.queries
    length = (q["t_end"] - q["t_start"]).abs()
    values = {"length": length, "coverage": length / q["duration"], "words": q["num_words"]}[by]
    if bins is None and by == "words":
        bins = WORD_BINS
    if bins is None:
        edges = np.unique(np.quantile(values.dropna(), np.linspace(0, 1, 6))) if values.notna().any() else [0, 1]
        bins = tuple(edges)
    edges = tuple(float(b) for b in bins)
    cat = _bin(values, edges, _range_labels(edges, by == "words"))
    hits = _query_hits(mr, thresholds, ks)
    cols = {f"R@{k}@{thr:.2f}": hits[t, j] for t, thr in enumerate(thresholds) for j, k in enumerate(ks)}
    grouped = pd.DataFrame({by: cat, **cols}).groupby(by, observed=False)
    table = grouped.mean()
    table.insert(0, "queries", grouped.size().astype(int))
    table.index = table.index.astype(str)
    return table


def _range_labels(edges: tuple[float, ...], integer: bool) -> list[str]:
    if integer:  # (a, b] of word counts
        return [f"{int(a) + 1}–{int(b)}" if np.isfinite(b) else f"{int(a) + 1}+" for a, b in zip(edges[:-1], edges[1:])]
    for digits in (1, 2, 3, 6):
        labels = [f"({_num(round(a, digits))}, {_num(round(b, digits))}]" for a, b in zip(edges[:-1], edges[1:])]
        if len(set(labels)) == len(labels):
            return labels
    return [f"bin {i}" for i in range(len(edges) - 1)]


# ---------------------------------------------------------------------------------------------------- report
@dataclass
class ErrorReport:
    """All tables of ``error_analysis``; the ``*_figure`` methods draw them (``error_figures``)."""

    tad: dict[str, pd.DataFrame] = field(default_factory=dict)
    mr: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __repr__(self) -> str:
        parts = [f"== TAD {k} ==\n{v.round(3).to_string()}" for k, v in self.tad.items()]
        parts += [f"== MR {k} ==\n{v.round(3).to_string()}" for k, v in self.mr.items()]
        return "\n\n".join(parts) or "ErrorReport (empty)"

    def _fig(self, name: str, backend: str, **kw):
        from unimd_lib.views import error_figures

        return getattr(error_figures, name)(self, backend=backend, **kw)

    def fp_profile_figure(self, backend: str = "plotly", **kw):
        return self._fig("fp_profile_figure", backend, **kw)

    def fn_figure(self, backend: str = "plotly", **kw):
        return self._fig("fn_figure", backend, **kw)

    def ap_per_class_figure(self, backend: str = "plotly", **kw):
        return self._fig("ap_per_class_figure", backend, **kw)

    def mr_recall_figure(self, backend: str = "plotly", **kw):
        return self._fig("mr_recall_figure", backend, **kw)

    def mr_breakdown_figure(self, backend: str = "plotly", **kw):
        return self._fig("mr_breakdown_figure", backend, **kw)


def error_analysis(tables: ViewTables, *, groups: int = 10, impact: bool = True) -> ErrorReport:
    """Every table for the tasks ``tables`` hold (TAD: ``fp_profile``, ``fp_impact``, ``fn_length``,
    ``fn_coverage``, ``fn_instances``, ``ap_per_class``; MR: ``recall_curve``, ``by_length``, ``by_words``)."""
    report = ErrorReport()
    tad, mr = tables.tad, tables.mr
    if tad is not None:
        report.tad["fp_profile"] = fp_profile(tad, groups)
        if impact:
            report.tad["fp_impact"] = fp_impact(tad)
        for c in ("length", "coverage", "instances"):
            report.tad[f"fn_{c}"] = fn_by(tad, c)
        report.tad["ap_per_class"] = ap_per_class(tad)
    if mr is not None:
        report.mr["recall_curve"] = mr_recall_curve(mr)
        report.mr["by_length"] = mr_recall_by(mr, "length")
        report.mr["by_words"] = mr_recall_by(mr, "words")
    return report
