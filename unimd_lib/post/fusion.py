"""ActivityNet external-classifier score fusion (UniMD's ANet TAD path; METRICS.md §1, spec §8.4).

The model emits class-agnostic proposals; for each video (ids sorted) the ``num_pred`` best proposals are kept
(``argsort(score)[::-1][:num_pred]``, numpy's tie order, on the float32 scores the model produced), the
video's ``topk`` best classes are taken from the external score vector (``argsort(cls)[::-1][:topk]``), and
every kept proposal is emitted once per class with ``score = sqrt(cls_score * proposal_score)`` in float64.
Row order as the original: per video, class 1 × proposals, then class 2 × proposals.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from unimd_lib.errors import DataError
from unimd_lib.post.ranking import numpy_desc_order, rank_in_groups

NUM_PRED = 200
TOPK = 2


def _sort_dtype(scores: np.ndarray) -> np.ndarray:
    """The original ranks the model's float32 scores; float64 input that is not float32-exact is kept as is."""
    s32 = scores.astype(np.float32)
    return s32 if np.array_equal(s32, scores) else scores


def fuse_external_scores(
    proposals: pd.DataFrame,
    class_scores: Mapping[str, np.ndarray],
    num_pred: int = NUM_PRED,
    topk: int = TOPK,
    source: str | None = None,
) -> pd.DataFrame:
    """Detections ``video_id, t_start, t_end, label, score`` from class-agnostic ``proposals`` (same columns;
    ``label`` is ignored) and ``class_scores[video_id]`` (class probabilities; index = ``label_id``)."""
    cols = ["video_id", "t_start", "t_end", "label", "score"]
    if len(proposals) == 0:
        return pd.DataFrame({c: proposals[c] for c in cols}) if set(cols) <= set(proposals.columns) else proposals
    videos = np.sort(pd.unique(proposals["video_id"].astype(str)))  # `sorted(video ids)`
    missing = [v for v in videos if v not in class_scores]
    if missing:
        raise DataError(source, f"video {missing[0]}", f"no external class scores ({len(missing)} video(s) missing)")
    code = np.searchsorted(videos, proposals["video_id"].astype(str).to_numpy())
    order = numpy_desc_order(code, _sort_dtype(proposals["score"].to_numpy(np.float64)))
    order = order[rank_in_groups(order, code[order]) < num_pred]
    kept_code = code[order]
    counts = np.bincount(kept_code, minlength=len(videos))
    top = np.empty((len(videos), topk), dtype=np.int64)
    top_scores = np.empty((len(videos), topk), dtype=np.float64)
    for i, vid in enumerate(videos):  # one small argsort per video (numpy's tie order for the classes too)
        cls = np.asarray(class_scores[vid], dtype=np.float64)
        if len(cls) < topk:
            raise DataError(source, f"video {vid}", f"{len(cls)} class scores, fewer than top-{topk}")
        top[i] = cls.argsort()[::-1][:topk]
        top_scores[i] = cls[top[i]]
    # rows: for each video, class k=0 × its kept proposals, then k=1 × the same proposals, ...
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    video_of_row = np.repeat(np.arange(len(videos)), counts * topk)
    within = np.arange(len(video_of_row)) - np.repeat(starts * topk, counts * topk)
    k = within // np.repeat(counts, counts * topk)
    src = order[starts[video_of_row] + within % np.repeat(counts, counts * topk)]
    prop_score = proposals["score"].to_numpy(np.float64)[src]
    return pd.DataFrame(
        {
            "video_id": videos[video_of_row],
            "t_start": proposals["t_start"].to_numpy()[src],
            "t_end": proposals["t_end"].to_numpy()[src],
            "label": top[video_of_row, k],
            "score": np.sqrt(top_scores[video_of_row, k] * prop_score),
        }
    )
