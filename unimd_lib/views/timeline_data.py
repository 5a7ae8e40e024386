"""Pure functions behind the timeline explorer: for one video, task and class (TAD) or query (MR), the ground
truth lane and the prediction lane under the current controls, each bar labelled by the protocol's matching.

Controls (``Controls``): ``score_min`` keeps predictions with ``score >= score_min``; ``top_k`` keeps the
lane's first k predictions in the protocol's ranking (TAD: the class ranking of ``evaluate_detection``; MR:
descending score, ties in input order); ``tiou`` is the matching threshold.

* TAD: a prediction is a TP when the protocol's greedy matching over the whole split, at ``tiou``, gives it a
  GT (``eval.assignments.assign_detections``). Both filters keep a prefix of the class ranking, so they never
  change the outcome of a prediction they keep; a GT is *hit* when its matching prediction is shown. Lane
  metrics: TP / FP / hit / missed counts, precision, recall and the protocol's AP of this class computed on
  this video alone with the shown predictions.
* MR: a window is a TP when the protocol's IoU with the query's GT window passes the protocol's comparison
  (``>=``, or ``>`` for Ego4D NLQ; ``Controls``' owner may override it in ``load_tables``). The GT is *hit*
  when a shown window is a TP. Metrics: R@1 and R@k over the shown windows (k = ``top_k``), the rank of the
  first hit among all windows, best IoU shown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from unimd_lib.eval.assignments import DetectionAssignment, assign_detections
from unimd_lib.eval.detection_gt import DetectionGroundTruth
from unimd_lib.eval.detection_map import evaluate_detection
from unimd_lib.views.tables import ViewTables

TP, FP, HIT, MISSED = "TP", "FP", "hit", "missed"
ANSWER = "answer"  # a free-text query's prediction with no ground truth to judge it (views.free_text)


@dataclass(frozen=True)
class Controls:
    video_id: str
    task: str = "tad"  # "tad" | "mr"
    item: int | None = None  # TAD: label_id; MR: query_index; None = the video's first
    score_min: float = 0.0
    top_k: int | None = None  # None = all
    tiou: float = 0.5


@dataclass
class Lanes:
    """One lane pair. ``gt``: ``number`` (1-based, by start), ``t_start, t_end, length, status, matched_by``
    (rank of the matching shown prediction, 0 = none), ``row``. ``predictions``: ``rank`` (1-based in the
    lane), ``score, t_start, t_end, length, status, iou`` (best IoU with a GT of the lane; MR: with the query
    window), ``matched_gt`` (GT number, 0 = none), ``split_rank`` (TAD: 1-based rank in the class's ranking over
    the split), ``note``, ``row``."""

    controls: Controls
    item_label: str  # class name / query text
    duration: float
    gt: pd.DataFrame
    predictions: pd.DataFrame
    n_lane: int  # predictions of the lane before the score / top-k filters
    metrics: dict[str, float | int | None]
    comparison: str = ">="  # how the (t)IoU is compared with the threshold

    @property
    def n_shown(self) -> int:
        return len(self.predictions)

    @property
    def title(self) -> str:
        task = "TAD" if self.controls.task == "tad" else "MR"
        return f"{self.controls.video_id} · {task} · {self.item_label}"


def pack_rows(t_start: np.ndarray, t_end: np.ndarray) -> np.ndarray:
    """First-fit row of each interval so that intervals sharing a row do not overlap (display of GT bars)."""
    order = np.lexsort((t_end, t_start))
    ends: list[float] = []
    row = np.zeros(len(order), dtype=np.int64)
    for i in order:
        for r, e in enumerate(ends):
            if t_start[i] >= e:
                ends[r], row[i] = t_end[i], r
                break
        else:
            ends.append(t_end[i])
            row[i] = len(ends) - 1
    return row


def _keep(score: np.ndarray, score_min: float, top_k: int | None) -> np.ndarray:
    """Mask of a lane already in rank order: ``score >= score_min`` and among the first ``top_k``."""
    keep = score >= score_min
    if top_k is not None:
        keep &= np.arange(len(score)) < top_k
    return keep


def _gt_frame(t_start, t_end, status, matched_by) -> pd.DataFrame:
    gt = pd.DataFrame({"t_start": t_start, "t_end": t_end})
    gt["length"] = gt["t_end"] - gt["t_start"]
    gt["status"], gt["matched_by"] = status, matched_by
    gt["row"] = pack_rows(gt["t_start"].to_numpy(), gt["t_end"].to_numpy())
    return gt


class TimelineData:
    """Lanes for any (video, task, item) of ``tables``; the TAD matching is computed once per threshold."""

    def __init__(self, tables: ViewTables):
        self.tables = tables
        self._assign: dict[float, DetectionAssignment] = {}
        self._ap: dict[float, dict[int, float]] = {}
        self._videos = tables.videos
        tad = tables.tad
        if tad is not None and tad.thresholds:  # the protocol's thresholds in one pass
            a = assign_detections(tad.gt, tad.predictions, tad.thresholds)
            for t, thr in enumerate(tad.thresholds):
                self._assign[round(thr, 9)] = _slice(a, t)
        if tad is not None:
            self._pred_video = tad.predictions["video_id"].astype(str).to_numpy()
            self._gt_video = tad.gt_table["video_id"].to_numpy()

    # ---- choices -------------------------------------------------------------------------------------------
    def videos(self, task: str | None = None) -> list[str]:
        v = self._videos
        return v["video_id"].tolist() if task is None else v.loc[v[task], "video_id"].tolist()

    def tasks(self, video_id: str) -> list[str]:
        row = self._videos[self._videos["video_id"] == video_id]
        return [t for t in ("tad", "mr") if len(row) and bool(row[t].iloc[0])]

    def duration(self, video_id: str) -> float:
        row = self._videos[self._videos["video_id"] == video_id]
        d = float(row["duration"].iloc[0]) if len(row) else np.nan
        return d

    def items(self, video_id: str, task: str) -> list[tuple[int, str]]:
        """(item, label) choices: TAD classes with GT in the video, then classes with only scored predictions
        there; MR queries in their order."""
        if task == "tad":
            tad = self.tables.tad
            gt_ids = tad.gt_table.loc[self._gt_video == video_id, "label_id"]
            a = self.assignment(tad.thresholds[0])
            col = a.column[(self._pred_video == video_id) & (a.column >= 0)]
            n = gt_ids.value_counts()
            ids = sorted(
                set(gt_ids.tolist()) | set(tad.gt.class_label_ids[col].tolist()), key=lambda i: (i not in n, i)
            )
            return [(int(i), f"{tad.class_name(i)} ({int(n.get(i, 0))} GT)") for i in ids]
        q = self.tables.mr.queries
        q = q[q["video_id"] == video_id]
        return [(int(i), f"{int(i)}: {t}") for i, t in zip(q["query_index"], q["text"])]

    def split_ap(self, tiou: float) -> dict[int, float]:
        """label_id -> the protocol's AP of the class over the whole split at ``tiou`` (``evaluate_detection``)."""
        key = round(float(tiou), 9)
        if key not in self._ap:
            tad = self.tables.tad
            r = evaluate_detection(tad.gt, tad.predictions, [float(tiou)], top_k=(1,))
            self._ap[key] = dict(zip(r.class_label_ids.tolist(), r.ap[0].tolist()))
        return self._ap[key]

    def assignment(self, tiou: float) -> DetectionAssignment:
        key = round(float(tiou), 9)
        if key not in self._assign:
            tad = self.tables.tad
            self._assign[key] = assign_detections(tad.gt, tad.predictions, [float(tiou)])
        return self._assign[key]

    # ---- lanes ---------------------------------------------------------------------------------------------
    def lanes(self, c: Controls) -> Lanes:
        if c.task not in self.tasks(c.video_id):
            have = "/".join(t.upper() for t in self.tasks(c.video_id)) or "nothing"
            raise ValueError(
                f"video {c.video_id} has no {c.task.upper()} annotations or predictions (it has {have}); "
                f"videos with {c.task.upper()}: TimelineData.videos({c.task!r})"
            )
        if c.item is None:
            items = self.items(c.video_id, c.task)
            if not items:
                raise ValueError(f"video {c.video_id} has no {c.task} classes / queries")
            c = Controls(c.video_id, c.task, items[0][0], c.score_min, c.top_k, c.tiou)
        return self._tad_lanes(c) if c.task == "tad" else self._mr_lanes(c)

    def lane_scores(self, c: Controls) -> np.ndarray:
        """Scores of the lane's predictions in rank order, before the score filter (after top-k)."""
        lanes = self.lanes(Controls(c.video_id, c.task, c.item, -np.inf, c.top_k, c.tiou))
        return lanes.predictions["score"].to_numpy()

    def _tad_lanes(self, c: Controls) -> Lanes:
        tad = self.tables.tad
        a = self.assignment(c.tiou)
        col = int(np.searchsorted(tad.gt.class_label_ids, c.item))
        has_col = col < tad.gt.num_classes and tad.gt.class_label_ids[col] == c.item
        g_rows = np.flatnonzero((self._gt_video == c.video_id) & (tad.gt_table["label_id"].to_numpy() == c.item))
        g_rows = g_rows[np.argsort(tad.gt.t_start[g_rows], kind="stable")]
        lane = np.flatnonzero((self._pred_video == c.video_id) & (a.column == col)) if has_col else np.zeros(0, int)
        lane = lane[np.argsort(a.rank[lane], kind="stable")]
        p = tad.predictions.iloc[lane]
        keep = _keep(p["score"].to_numpy(), c.score_min, c.top_k)
        shown = lane[keep]
        number = {int(g): n + 1 for n, g in enumerate(g_rows)}
        matched = a.matched_gt[0, shown]
        rank_of = {int(i): r + 1 for r, i in enumerate(shown)}
        by = a.gt_matched_by[0, g_rows]
        matched_by = np.array([rank_of.get(int(i), 0) for i in by], dtype=np.int64)
        gt = _gt_frame(tad.gt.t_start[g_rows], tad.gt.t_end[g_rows], np.where(matched_by > 0, HIT, MISSED), matched_by)
        ps = tad.predictions.iloc[shown]
        raw_label = ps["label"].to_numpy()
        preds = pd.DataFrame(
            {
                "rank": np.arange(1, len(shown) + 1),
                "score": ps["score"].to_numpy(np.float64),
                "t_start": ps["t_start"].to_numpy(np.float64),
                "t_end": ps["t_end"].to_numpy(np.float64),
                "status": np.where(matched >= 0, TP, FP),
                "iou": a.best_tiou[shown],
                "matched_gt": np.array([number.get(int(m), 0) for m in matched], dtype=np.int64),
                "split_rank": a.rank[shown] + 1,
                "note": [
                    "" if lab == c.item else f"predicted label {lab} {tad.class_name(lab)!r}, scored as this class"
                    for lab in raw_label
                ],  # the ANet label-aliasing quirk (labels without GT in the split)
            }
        )
        preds.insert(4, "length", preds["t_end"] - preds["t_start"])
        preds["row"] = np.arange(len(preds))
        n_tp, n_hit = int((matched >= 0).sum()), int((matched_by > 0).sum())
        metrics = {
            "gt": len(g_rows),
            "shown": len(shown),
            "tp": n_tp,
            "fp": len(shown) - n_tp,
            "hit": n_hit,
            "missed": len(g_rows) - n_hit,
            "precision": n_tp / len(shown) if len(shown) else None,
            "recall": n_hit / len(g_rows) if len(g_rows) else None,
            "ap": _lane_ap(c, tad.gt, g_rows, ps) if len(g_rows) else None,
            "split_ap": self.split_ap(c.tiou).get(int(c.item)),
        }
        dur = self.duration(c.video_id)
        dur = dur if np.isfinite(dur) else float(max(preds["t_end"].max(), gt["t_end"].max(), 1.0))
        return Lanes(c, tad.class_name(c.item), dur, gt, preds, len(lane), metrics)

    def _mr_lanes(self, c: Controls) -> Lanes:
        mr = self.tables.mr
        q = mr.queries
        qrow = np.flatnonzero((q["video_id"] == c.video_id).to_numpy() & (q["query_index"] == c.item).to_numpy())
        if len(qrow) == 0:
            raise ValueError(f"no query {c.item} in video {c.video_id}")
        qi = int(qrow[0])
        p = mr.predictions
        lane = np.flatnonzero(p["query"].to_numpy() == qi)
        lane = lane[np.argsort(p["rank"].to_numpy()[lane], kind="stable")]
        pl = p.iloc[lane]
        iou_all = pl["iou"].to_numpy()
        hit_all = mr.rule.hit(iou_all, c.tiou)
        keep = _keep(pl["score"].to_numpy(), c.score_min, c.top_k)
        ps, hit, iou = pl[keep], hit_all[keep], iou_all[keep]
        preds = pd.DataFrame(
            {
                "rank": np.arange(1, len(ps) + 1),
                "score": ps["score"].to_numpy(np.float64),
                "t_start": ps["t_start"].to_numpy(np.float64),
                "t_end": ps["t_end"].to_numpy(np.float64),
                "status": np.where(hit, TP, FP),
                "iou": iou,
                "matched_gt": hit.astype(np.int64),
                "split_rank": ps["rank"].to_numpy() + 1,
                "note": "",
            }
        )
        preds.insert(4, "length", preds["t_end"] - preds["t_start"])
        preds["row"] = np.arange(len(preds))
        first = int(np.flatnonzero(hit)[0]) + 1 if hit.any() else 0
        gt = _gt_frame([q["t_start"].iloc[qi]], [q["t_end"].iloc[qi]], [HIT if first else MISSED], [first])
        k = len(ps) if c.top_k is None else c.top_k
        all_hits = np.flatnonzero(hit_all)
        metrics = {
            "gt": 1,
            "shown": len(ps),
            "tp": int(hit.sum()),
            "fp": int((~hit).sum()),
            "hit": int(first > 0),
            "missed": int(first == 0),
            "r@1": _recall_at(mr.rule, hit, iou, 1),
            "k": int(k),
            "r@k": _recall_at(mr.rule, hit, iou, k),
            "first_hit_rank": int(all_hits[0]) + 1 if len(all_hits) else None,
            "best_iou": float(np.nanmax(iou)) if len(iou) and not np.isnan(iou).all() else None,
            "iou@1": float(iou[0]) if len(iou) else None,
        }
        dur = float(q["duration"].iloc[qi])
        dur = dur if np.isfinite(dur) else float(max(preds["t_end"].max(), gt["t_end"].max(), 1.0))
        return Lanes(c, str(q["text"].iloc[qi]), dur, gt, preds, len(lane), metrics, mr.rule.comparison)


def _recall_at(rule, hit: np.ndarray, iou: np.ndarray, k: int) -> float:
    """1.0 when one of the first ``k`` windows hits (Charades-STA: and none of them has a NaN IoU)."""
    top_hit, top_iou = hit[:k], iou[:k]
    if rule.nan_spoils_top_k and np.isnan(top_iou).any():
        return 0.0
    return float(top_hit.any())


def _lane_ap(c: Controls, gt: DetectionGroundTruth, g_rows: np.ndarray, shown: pd.DataFrame) -> float:
    """The protocol's AP of this class with this video as the whole split (``evaluate_detection``)."""
    one = DetectionGroundTruth(
        name="lane",
        video_id=np.full(len(g_rows), c.video_id, dtype=object),
        t_start=gt.t_start[g_rows],
        t_end=gt.t_end[g_rows],
        label_id=np.full(len(g_rows), c.item, dtype=np.int64),
        label=np.zeros(len(g_rows), dtype=np.int64),
        class_label_ids=np.array([c.item], dtype=np.int64),
    )
    preds = shown[["video_id", "t_start", "t_end", "score"]].assign(label=np.int64(c.item))
    return float(evaluate_detection(one, preds, [c.tiou], top_k=(1,)).ap[0, 0])


def _slice(a: DetectionAssignment, t: int) -> DetectionAssignment:
    return DetectionAssignment(
        a.tiou_thresholds[t : t + 1],
        a.column,
        a.rank,
        a.best_tiou,
        a.best_gt,
        a.matched_gt[t : t + 1],
        a.gt_matched_by[t : t + 1],
    )
