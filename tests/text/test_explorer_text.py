"""The explorer's text box, driven through its widget without a browser."""

from __future__ import annotations

import numpy as np
import pytest

from unimd_lib.formats.files import read_json
from unimd_lib.train.query import query_moments, run_answer
from unimd_lib.views import explore, load_tables


def _validation_mr_videos(bench):
    mr = read_json(bench / "mr.json")["database"]
    return [(v, e) for v, e in mr.items() if e["subset"] == "validation"]


def test_text_box_shows_the_models_answer_and_known_ground_truth(text_run, text_bench):
    (vid, entry), (other, _) = _validation_mr_videos(text_bench)[:2]
    ex = explore(str(text_run), video=vid, task="mr", interactive=True, answer=run_answer(text_run))
    assert not ex.w_text.disabled
    anno = entry["annotations"][0]
    typed = anno["query"].upper().rstrip("?")
    ex.w_text.value = "  " + typed  # a known query, typed differently: the GT is found, the model reads the text
    lanes = ex.lanes
    assert lanes.item_label.startswith("free text") and "annotated query" in lanes.item_label
    assert lanes.gt[["t_start", "t_end"]].to_numpy().tolist() == [anno["segment"]]
    want = query_moments(text_run, typed, video_id=vid, top_k=10)
    np.testing.assert_allclose(lanes.predictions[["t_start", "t_end", "score"]], want[["t_start", "t_end", "score"]],
                               rtol=1e-6)  # fmt: skip
    gs, ge = anno["segment"]
    ps, pe = lanes.predictions["t_start"].to_numpy(), lanes.predictions["t_end"].to_numpy()
    iou = np.clip(np.minimum(pe, ge) - np.maximum(ps, gs), 0, None) / (np.maximum(pe, ge) - np.minimum(ps, gs))
    expected = np.where(iou > ex.controls.tiou, "TP", "FP")  # the NLQ rule: strictly greater
    assert lanes.predictions["status"].tolist() == expected.tolist()

    ex.w_text.value = "somebody juggling three oranges"  # not annotated: shown unjudged
    assert len(ex.lanes.gt) == 0 and set(ex.lanes.predictions["status"]) == {"answer"}
    assert "pred-answer" in [t.uid for t in ex.figure.data]
    ex.set(video=other)  # the question follows the video
    assert ex.lanes.controls.video_id == other and ex.lanes.item_label.startswith("free text")
    ex.w_text.value = ""  # cleared: back to the selected query
    assert not ex.lanes.item_label.startswith("free text") and ex.controls.video_id == other


def test_without_a_model_the_box_is_off(text_run):
    ex = explore(load_tables(str(text_run)), interactive=True)
    assert ex.w_text.disabled
    with pytest.raises(ValueError, match="no model to ask"):
        ex.ask("when did i pour water?")
