"""The explorer's text box: a free-text query's predicted moments on one video's timeline, judged against the
ground truth when the text is one of the video's annotated queries (compared without case, spaces or the final
"?" / "."), shown unjudged otherwise."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from unimd_lib.views.tables import ViewTables
from unimd_lib.views.timeline_data import ANSWER, FP, HIT, MISSED, TP, Controls, Lanes, _gt_frame

Answer = Callable[[str, str, int], pd.DataFrame]  # (video_id, text, top_k) -> query, t_start, t_end, score


def _key(text: str) -> str:
    return " ".join(str(text).lower().strip().rstrip("?.").split())


def known_query(tables: ViewTables, video_id: str, text: str) -> int | None:
    """Row of ``tables.mr.queries`` whose text is ``text`` in this video, else None."""
    if tables.mr is None:
        return None
    q = tables.mr.queries
    rows = np.flatnonzero((q["video_id"] == video_id).to_numpy() & (q["text"].map(_key) == _key(text)).to_numpy())
    return int(rows[0]) if len(rows) else None


def free_text_lanes(tables: ViewTables, c: Controls, text: str, moments: pd.DataFrame, duration: float) -> Lanes:
    """Lanes of a free-text query: ``moments`` (ranked) below, the matching known query's window above."""
    known = known_query(tables, c.video_id, text)
    n = len(moments)
    ps, pe = moments["t_start"].to_numpy(np.float64), moments["t_end"].to_numpy(np.float64)
    comparison = tables.mr.rule.comparison if tables.mr is not None else ">="
    if known is not None:
        q = tables.mr.queries.iloc[known]
        gs, ge = float(q["t_start"]), float(q["t_end"])
        iou = np.maximum(0.0, np.minimum(pe, ge) - np.maximum(ps, gs)) / np.maximum(
            np.maximum(pe, ge) - np.minimum(ps, gs), 1e-9
        )
        hit = tables.mr.rule.hit(iou, c.tiou)
        status = np.where(hit, TP, FP)
        first = int(np.flatnonzero(hit)[0]) + 1 if hit.any() else 0
        gt = _gt_frame([gs], [ge], [HIT if first else MISSED], [first])
    else:
        iou, hit, status, first = np.full(n, np.nan), np.zeros(n, bool), np.full(n, ANSWER), 0
        gt = _gt_frame([], [], [], [])
    rank = np.arange(1, n + 1)
    preds = pd.DataFrame({"rank": rank, "score": moments["score"].to_numpy(np.float64), "t_start": ps, "t_end": pe,
                          "length": pe - ps, "status": status, "iou": iou, "matched_gt": hit.astype(np.int64),
                          "split_rank": rank, "note": ""})  # fmt: skip
    preds["row"] = np.arange(n)
    judged = known is not None and n > 0
    metrics = {
        "gt": int(known is not None), "shown": n, "tp": int(hit.sum()), "fp": int(n - hit.sum()) if judged else 0,
        "hit": int(first > 0), "missed": int(known is not None and first == 0),
        "r@1": bool(hit[0]) if judged else None, "k": n, "r@k": bool(hit.any()) if judged else None,
        "first_hit_rank": first or None, "best_iou": float(np.max(iou)) if judged else None,
        "iou@1": float(iou[0]) if judged else None,
    }  # fmt: skip
    label = f"free text: “{text}”" + (" (an annotated query)" if known is not None else "")
    return Lanes(Controls(c.video_id, "mr", None, 0.0, c.top_k, c.tiou), label, duration, gt, preds, n, metrics,
                 comparison)  # fmt: skip
