"""Eval-mode parity with the original on the three reference cases (one video at a time, README §4.4).

One test per case (all checks inside, every mismatch reported): the eval run is computed once, also under
pytest-xdist, where module fixtures would be recomputed by each worker.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.model._compare import check_close
from tests.model.conftest import CASES, dropped_keys
from unimd_lib.parity.compare import match_detections
from unimd_lib.parity.harness import run_eval

FEATURE_PREFIXES = ("backbone.feat", "backbone.mask", "neck.feat", "neck.mask", "points")
HEAD_PREFIXES = ("tad.cls_logits", "tad.offsets", "mr.cls_logits", "mr.offsets")


def _keys(ref: dict, prefixes) -> list[str]:
    return sorted(k for k in ref if k.split(".", 1)[1].startswith(prefixes))


def _level_block_ends(scores: np.ndarray) -> set[int]:
    """Positions of the last candidate of each level (scores are sorted descending within a level)."""
    rises = np.flatnonzero(scores[1:] > scores[:-1])
    return set(rises.tolist()) | {scores.size - 1}


def check_candidates(failures: list[str], name: str, ours, exp) -> None:
    """Pre-NMS candidates: level/top-k order, so scores compare position by position; near-tied scores may
    swap places, so (label, segment) pairs are matched as sets; a near-tie exactly at a level's top-k cut may
    keep a different candidate (only there may the sets differ)."""
    if ours[0].shape != exp[0].shape:
        failures.append(f"{name}: {ours[0].shape[0]} candidates, reference {exp[0].shape[0]}")
        return
    if not np.allclose(ours[1], exp[1], rtol=0, atol=1e-5):
        failures.append(f"{name}: scores differ by up to {np.abs(ours[1] - exp[1]).max():.3g}")
    m = match_detections(ours, exp, seg_tol=1e-3, score_tol=1e-5)
    if m.unmatched_expected != m.unmatched_actual or not set(m.unmatched_expected) <= _level_block_ends(exp[1]):
        failures.append(f"{name}: unmatched candidates {m.unmatched_expected[:5]} / {m.unmatched_actual[:5]}")


def check_detections(failures: list[str], name: str, ours, exp) -> None:
    """Final detections (seconds) as sets: label, segment ±1e-3 s, score ±1e-5 (README §6); same top-10 labels."""
    if ours[1].size != exp[1].size:
        failures.append(f"{name}: {ours[1].size} detections, reference {exp[1].size}")
        return
    m = match_detections(ours, exp, seg_tol=1e-3, score_tol=1e-5)
    if m.unmatched_expected:
        failures.append(f"{name}: {len(m.unmatched_expected)} of {exp[1].size} reference detections unmatched")
    if not np.array_equal(ours[2][:10], exp[2][:10]):
        failures.append(f"{name}: top-10 labels differ")


@pytest.mark.parametrize("name", CASES)
def test_eval_parity(parity_cases, name):
    case, model = parity_cases(name)
    arrays, summary = run_eval(model, case)
    ref = dict(np.load(case.variant_dir / "eval_outputs.npz"))
    failures: list[str] = []
    features, heads = _keys(ref, FEATURE_PREFIXES), _keys(ref, HEAD_PREFIXES)
    kept = [p for p in FEATURE_PREFIXES if not any(f".{p}." in d for d in dropped_keys(case.root, "eval_outputs.npz"))]
    assert len(features) == 2 * len(kept) * 6 and len(heads) == 2 * 4 * 6
    for k in features + heads:  # backbone/neck features and masks, points, head outputs per level
        check_close(failures, k, arrays[k], ref[k])
    for v in range(2):
        for task in ("tad", "mr"):
            fields = ("segments", "scores", "labels")
            p = f"v{v}.{task}."
            check_candidates(
                failures,
                p + "pre_nms",
                [arrays[p + "pre_nms." + f] for f in fields],
                [ref[p + "pre_nms." + f] for f in fields],
            )
            check_detections(
                failures, p + "det", [arrays[p + "det." + f] for f in fields], [ref[p + "det." + f] for f in fields]
            )
            if not summary[f"v{v}.{task}_only_call_identical"]:
                failures.append(f"{p}: a {task}-only call gives other detections than the joint call")
    assert not failures, "\n".join(failures)
