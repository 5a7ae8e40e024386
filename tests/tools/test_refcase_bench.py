"""All seven protocols on the reference cases: the table reproduces the original code's expected values."""

from __future__ import annotations

import pytest

from benchmarks import refcase_bench as rb
from benchmarks.postprocess_bench import EVAL_COLUMNS
from tests.conftest import shared_path
from tests.eval.refcases import expected
from unimd_lib.eval.protocols import PROTOCOLS

# (case, metric) -> the expected value, read here straight from refcases/<case>/expected.json
HEADLINES = {
    ("anet_tad", "average_mAP"): lambda: expected("anet_tad")["outputs"]["average_mAP"],
    ("anet_tad_extscore", "average_mAP"): lambda: expected("anet_tad_extscore")["outputs"]["average_mAP"],
    ("ego4d_mq", "average_mAP"): lambda: expected("ego4d_mq")["outputs"]["average_mAP"],
    ("charades_tad f2", "average_mAP"): lambda: expected("charades_tad")["f2_anet_style_map"]["outputs"]["average_mAP"],
    ("charades_tad f3", "mAP"): lambda: expected("charades_tad")["f3_tiefree_frame_scores"]["outputs"]["mAP"],
    ("ego4d_nlq", "R5@0.50"): lambda: expected("ego4d_nlq")["outputs"]["mean_results[threshold][topK]"][1][2],
    ("charades_sta", "R1@0.70"): lambda: expected("charades_sta")["outputs"]["summary(hits/(labels+1e-5))"]["1-0.70"],
    ("anet_captions val_2", "mIoU"):
        lambda: expected("anet_captions")["per_annotation_file"]["val_2"]["outputs"]["mIOU"],
}  # fmt: skip


@pytest.fixture(scope="module")
def table():
    return rb.refcase_table(shared_path("refcases"), repeats=1, backends=("numpy",))


def test_every_protocol_is_covered(table):
    assert list(table.columns) == list(EVAL_COLUMNS)
    assert set(table["protocol"]) == set(PROTOCOLS)
    assert table["numpy"].notna().all()


def test_headline_values_match_the_reference(table):
    got = {(c, m): v for c, m, v in zip(table["case"], table["metric"], table["numpy"], strict=True)}
    for key, want in HEADLINES.items():
        assert got[key] == pytest.approx(want(), rel=1e-9, abs=0), key
    f1 = expected("charades_tad")["f1_per_frame_map_from_segments"]["outputs"]
    assert got[("charades_tad f1", "mAP")] == pytest.approx(f1["mAP(original, numpy default argsort on this machine)"],
                                                             abs=2e-4)  # fmt: skip
    head = rb.headline(table)
    assert head["matches"].all() and len(head) >= len(HEADLINES) + 1
    assert set(head["case"]) == {c.name for c in rb.REF_CASES}


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no reference cases folder"):
        rb.refcase_table(tmp_path / "absent")


def test_pointer_resolution(tmp_path):
    assert rb.resolve_pointer("UniMD repo: data/ego4d/nlq/nlq_val.json (git blob ab)", tmp_path) == (
        tmp_path / "annotations" / "ego4d" / "nlq" / "nlq_val.json"
    )
    assert rb.resolve_pointer("refcases/annotations/x.json (constructed, from y)", tmp_path) == (
        tmp_path / "annotations" / "derived" / "x.json"
    )
    with pytest.raises(ValueError, match="unknown annotation pointer"):
        rb.resolve_pointer("somewhere/else.json", tmp_path)


@pytest.mark.gpu
def test_cupy_equals_numpy_on_every_case():
    t = rb.refcase_table(shared_path("refcases"), repeats=1, backends=("numpy", "cupy"))
    assert t["equal"].all(), t.loc[~t["equal"]]
    assert rb.headline(t)["matches"].all()
