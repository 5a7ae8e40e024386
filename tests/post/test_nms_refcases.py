"""The original batched_nms and C++ ops on the reference inputs (numpy path)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.post.conftest import CASES, assert_matches_expected, call_kwargs
from unimd_lib.post.nms import batched_nms, hard_nms, soft_nms


@pytest.mark.parametrize(("set_name", "config", "mode"), CASES, ids=["/".join(c) for c in CASES])
def test_batched_nms_matches_original(nms_ref, set_name, config, mode):
    segs, scores, labels = nms_ref["sets"][set_name]
    kwargs = call_kwargs(nms_ref, config, mode)
    out = batched_nms(segs, scores, labels, **kwargs, backend="numpy", return_index=True)
    exp = nms_ref["results"][set_name][config][mode]
    assert_matches_expected(
        out, exp, voting=kwargs["voting_thresh"] > 0 and not kwargs["multiclass"], ties_as_multisets="note" in exp
    )
    assert out[0].dtype == np.float32 and out[1].dtype == np.float32 and out[2].dtype == np.int64


@pytest.mark.parametrize("mode", ["soft_gaussian_multiclass", "soft_gaussian_agnostic_novote", "hard_multiclass"])
def test_all_scores_below_min_score_quirk(nms_ref, mode):
    """Soft-NMS never re-checks the item it selects: one survivor per class; hard NMS keeps none."""
    segs, scores, labels = nms_ref["sets"]["all_scores_below_0.001"]
    out = batched_nms(segs, scores, labels, **call_kwargs(nms_ref, "anet", mode), backend="numpy")
    expected_num = {"soft_gaussian_multiclass": 2, "soft_gaussian_agnostic_novote": 1, "hard_multiclass": 0}[mode]
    assert len(out[1]) == expected_num
    assert sorted(out[2].tolist()) == sorted(set(out[2].tolist()))  # at most one per class


OP_KEY = "softnms(iou_threshold=0.1, sigma=0.5, min_score=0.001, method={} {})"


def test_op_level_hard_nms(nms_ref):
    segs, scores, _ = nms_ref["sets"]["medium_20cls"]
    exp = nms_ref["op_level_medium_20cls"]["nms(iou_threshold=0.1)"]
    inds = hard_nms(segs, scores, iou_threshold=0.1)
    assert len(exp) == 25
    assert inds.tolist() == exp


@pytest.mark.parametrize(("method", "name", "count"), [(0, "vanilla", 24), (1, "linear", 90), (2, "gaussian", 117)])
def test_op_level_soft_nms(nms_ref, method, name, count):
    segs, scores, _ = nms_ref["sets"]["medium_20cls"]
    exp = nms_ref["op_level_medium_20cls"][OP_KEY.format(method, name)]
    inds, dets = soft_nms(segs, scores, iou_threshold=0.1, sigma=0.5, min_score=0.001, method=method)
    assert len(exp["inds"]) == count
    assert inds.tolist() == exp["inds"]
    np.testing.assert_allclose(dets, exp["dets[:len(inds)]"], rtol=1e-5, atol=0)


@pytest.mark.parametrize("config", ["anet", "charades", "ego4d", "defaults"])
@pytest.mark.parametrize("mode", ["soft_gaussian_multiclass", "hard_multiclass"])
def test_cross_class_ties_invariant_under_permutation(nms_ref, config, mode):
    """Permuting the input rows may only reorder items of equal score (compared as multisets)."""
    segs, scores, labels = nms_ref["sets"]["cross_class_ties"]
    kwargs = call_kwargs(nms_ref, config, mode)
    exp = nms_ref["results"]["cross_class_ties"][config][mode]
    base = batched_nms(segs, scores, labels, **kwargs, backend="numpy", return_index=True)
    rng = np.random.default_rng(7)
    for _ in range(5):
        perm = rng.permutation(len(scores))
        out = batched_nms(segs[perm], scores[perm], labels[perm], **kwargs, backend="numpy", return_index=True)
        assert_matches_expected(out, exp, voting=False, ties_as_multisets=True)
        assert sorted(perm[out[3]].tolist()) == sorted(base[3].tolist())  # same items selected
