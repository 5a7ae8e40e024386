"""Fixtures and comparison helpers for the NMS reference cases (tests/refcases/nms, a copy of refcases/nms)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import carried_path

SETS = (
    "small_3cls",
    "medium_20cls",
    "single_class_dense",
    "anet_like_200cls",
    "all_scores_below_0.001",
    "empty",
    "cross_class_ties",
)
CONFIGS = ("anet", "charades", "ego4d", "defaults")
MULTICLASS_MODES = ("soft_gaussian_multiclass", "hard_multiclass")
MODES = (
    *MULTICLASS_MODES,
    "soft_gaussian_agnostic_novote",
    "soft_gaussian_agnostic_vote",
    "hard_agnostic_novote",
    "hard_agnostic_vote",
)
# cross_class_ties is defined for the multiclass modes only (its point is ties across classes).
CASES = [(s, c, m) for s in SETS for c in CONFIGS for m in (MULTICLASS_MODES if s == "cross_class_ties" else MODES)]


@pytest.fixture(scope="session")
def nms_ref() -> dict:
    folder = carried_path("nms")
    inputs = json.loads((folder / "inputs.json").read_text())
    expected = json.loads((folder / "expected.json").read_text())
    sets = {}
    for name, st in inputs["sets"].items():
        segs = np.asarray(st["segments"], np.float32).reshape(-1, 2)
        sets[name] = (segs, np.asarray(st["scores"], np.float32), np.asarray(st["labels"], np.int64))
    return {"sets": sets, **expected}


def call_kwargs(ref: dict, config: str, mode: str) -> dict:
    """Keyword arguments of the original call for (config, mode), as the reference cases define them."""
    cfg = ref["configs"][config]
    voting = 0.0 if mode.endswith("_novote") else cfg["voting_thresh"]
    return dict(
        iou_threshold=cfg["iou_threshold"],
        min_score=cfg["min_score"],
        max_seg_num=cfg["max_seg_num"],
        use_soft_nms=mode.startswith("soft"),
        multiclass=mode.endswith("multiclass"),
        sigma=cfg["sigma"],
        voting_thresh=voting,
    )


def assert_matches_expected(result, exp: dict, *, voting: bool, ties_as_multisets: bool = False) -> None:
    """README tolerances: selection, order, labels, num exact; values rtol 1e-5; voting segments atol 1e-4.

    With ``ties_as_multisets`` the order inside each run of equal expected scores is free (torch's sort
    leaves it unspecified), so those runs are compared as multisets of (label, segment).
    """
    segs, scores, labels = result[:3]
    exp_segs = np.asarray(exp["segments"], np.float64).reshape(-1, 2)
    assert len(scores) == int(exp["num"]) == len(exp_segs)
    np.testing.assert_allclose(scores, exp["scores"], rtol=1e-5, atol=0)
    seg_tol = dict(rtol=0, atol=1e-4) if voting else dict(rtol=1e-5, atol=0)
    if not ties_as_multisets:
        assert result[3].tolist() == exp.get("source_index", [])  # absent only for the empty set
        assert labels.tolist() == exp["labels"]
        np.testing.assert_allclose(segs, exp_segs, **seg_tol)
        return
    exp_scores = np.asarray(exp["scores"])
    run_starts = np.flatnonzero(np.r_[True, exp_scores[1:] != exp_scores[:-1]])
    for lo, hi in zip(run_starts, np.r_[run_starts[1:], len(exp_scores)], strict=True):
        got = sorted(zip(labels[lo:hi].tolist(), segs[lo:hi, 0].tolist(), segs[lo:hi, 1].tolist(), strict=True))
        want = sorted(zip(exp["labels"][lo:hi], exp_segs[lo:hi, 0].tolist(), exp_segs[lo:hi, 1].tolist(), strict=True))
        assert [g[0] for g in got] == [w[0] for w in want]
        np.testing.assert_allclose(np.asarray(got)[:, 1:], np.asarray(want)[:, 1:], **seg_tol)
