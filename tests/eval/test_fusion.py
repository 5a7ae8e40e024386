"""ANet external-score fusion on a hand-made input (the refcase is checked in test_detection_map.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from unimd_lib.errors import DataError
from unimd_lib.post.fusion import fuse_external_scores


def proposals():
    rows = [("b", 0.0, 1.0, 0, 0.5), ("b", 1.0, 2.0, 0, 0.75), ("b", 2.0, 3.0, 0, 0.25), ("a", 5.0, 6.0, 0, 0.5)]
    return pd.DataFrame(rows, columns=["video_id", "t_start", "t_end", "label", "score"])


def test_top_proposals_times_top_classes_in_original_row_order():
    scores = {"a": np.array([0.1, 0.2, 0.7]), "b": np.array([0.6, 0.1, 0.3])}
    out = fuse_external_scores(proposals(), scores, num_pred=2, topk=2)
    # videos sorted (a before b); per video class 1 x kept proposals, then class 2 x kept proposals;
    # b keeps its 2 best proposals (0.75, 0.5); score = sqrt(class score * proposal score) in float64
    assert out["video_id"].tolist() == ["a", "a", "b", "b", "b", "b"]
    assert out["label"].tolist() == [2, 1, 0, 0, 2, 2]
    assert out["t_start"].tolist() == [5.0, 5.0, 1.0, 0.0, 1.0, 0.0]
    want = [
        math.sqrt(0.7 * 0.5),
        math.sqrt(0.2 * 0.5),
        math.sqrt(0.6 * 0.75),
        math.sqrt(0.6 * 0.5),
        math.sqrt(0.3 * 0.75),
        math.sqrt(0.3 * 0.5),
    ]
    assert out["score"].tolist() == want


def test_missing_class_scores_name_the_video():
    with pytest.raises(DataError, match="video b"):
        fuse_external_scores(proposals(), {"a": np.ones(3)}, source="cls.json")


def test_no_proposals_gives_no_detections():
    out = fuse_external_scores(proposals().iloc[:0], {})
    assert len(out) == 0 and list(out.columns) == ["video_id", "t_start", "t_end", "label", "score"]
