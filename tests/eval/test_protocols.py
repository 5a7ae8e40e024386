"""Protocol registry rules that are not metric values: id prefixes, option checks, split handling."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from unimd_lib.errors import DataError
from unimd_lib.eval.protocols import PROTOCOLS, evaluate, get_protocol


@pytest.fixture
def anet_gt(tmp_path):
    db = {
        "abc": {"subset": "validation", "annotations": [{"segment": [0.0, 10.0], "label_id": 3}]},
        "v_real": {"subset": "validation", "annotations": [{"segment": [0.0, 10.0], "label_id": 3}]},
    }
    path = tmp_path / "gt.json"
    path.write_text(json.dumps({"database": db}))
    return path


def preds(*ids):
    n = len(ids)
    return pd.DataFrame(
        {
            "video_id": list(ids),
            "t_start": [0.0] * n,
            "t_end": [10.0] * n,
            "label": [3] * n,
            "score": [0.9 - 0.1 * i for i in range(n)],
        }
    )


def test_anet_strips_v_prefix_only_where_it_names_a_gt_video(anet_gt, capsys):
    # "v_abc" -> "abc" (UniMD strips v_); "v_real" is itself a GT id and is kept
    m = evaluate("anet", anet_gt, preds("v_abc", "v_real"), backend="numpy")
    assert m["average_mAP"] == 1.0
    assert "0 on videos without GT" in capsys.readouterr().err


def test_options_are_checked():
    with pytest.raises(ValueError, match="unknown protocol 'thumos'"):
        get_protocol("thumos")
    with pytest.raises(ValueError, match="--ext-scores: only applies to the 'anet' protocol"):
        evaluate("ego4d_mq", "gt.json", preds("a"), ext_scores={"a": [1.0]})
    assert [n for n, p in PROTOCOLS.items() if p.tiou_thresholds] == ["anet", "ego4d_mq", "charades_segment"]


def test_split_without_videos_is_a_clear_error(anet_gt):
    sta = pd.DataFrame({"video_id": ["abc"], "query_index": [0], "t_start": [0.0], "t_end": [1.0], "score": [1.0]})
    with pytest.raises(DataError, match=r"no videos in split 'Test'; subsets in the file: \['validation'\]"):
        evaluate("charades_sta", anet_gt, sta)
    with pytest.raises(DataError, match="no ground-truth segments in split 'training'"):
        evaluate("anet", anet_gt, preds("abc"), split="training")
