"""The reference cases carried in tests/refcases: small enough for the repository, and (where ../shared is
beside the checkout) the same data as the full cases, so the carried tests check what the full ones check."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import CARRIED, carried_path, shared_path
from tests.model.conftest import dropped_keys
from unimd_lib.errors import DataError
from unimd_lib.parity.case import load_case
from unimd_lib.parity.inputs import generate_features

MAX_BYTES = 10_000_000
COPIES = ("nms/inputs.json", "nms/expected.json", "edge_cases.json")
CASE = "charades"
SAME_FILES = ("model_summary.json", "recipe/weights_recipe.json", "recipe/results.json")
NPZ = ("eval_outputs.npz", "train_outputs.npz", "train_grads_small.npz", "train_stochastic_masks.npz",
       "optim_params_after_3_steps_small.npz")  # fmt: skip


def test_carried_cases_fit_the_size_budget():
    total = sum(p.stat().st_size for p in CARRIED.rglob("*") if p.is_file())
    assert 0 < total <= MAX_BYTES


@pytest.mark.parametrize("name", COPIES)
def test_copies_are_identical(name):
    assert carried_path(name).read_bytes() == shared_path("refcases", *name.split("/")).read_bytes()


def test_trimmed_model_case_is_the_full_case_minus_the_declared_groups():
    ours, full = carried_path("model", CASE), shared_path("refcases", "model", CASE)
    for name in SAME_FILES:
        assert (ours / name).read_bytes() == (full / name).read_bytes(), name
    for name in NPZ:
        mine, ref = np.load(ours / "recipe" / name), np.load(full / "recipe" / name)
        dropped = dropped_keys(ours, name)
        assert set(mine.files) == {k for k in ref.files if not any(d in k for d in dropped)}, name
        for k in mine.files:
            np.testing.assert_array_equal(mine[k], ref[k], err_msg=f"{name} {k}")
    assert dropped_keys(ours, "eval_outputs.npz") and not dropped_keys(full, "eval_outputs.npz")


def test_regenerated_inputs_equal_the_stored_ones():
    ours, full = load_case(carried_path("model", CASE)), load_case(shared_path("refcases", "model", CASE))
    assert len(ours.records) == len(full.records) == 2
    for a, b in zip(ours.records, full.records, strict=True):
        np.testing.assert_array_equal(a.feats, b.feats)  # bit for bit, not only the fingerprint
        np.testing.assert_array_equal(a.tad.embeddings, b.tad.embeddings)
        np.testing.assert_array_equal(a.mr.segments, b.mr.segments)
        assert (a.video_id, a.fps, a.duration) == (b.video_id, b.fps, b.duration)


def test_another_random_stream_is_a_clear_error():
    spec = json.loads(carried_path("model", CASE, "inputs.json").read_text())["generated_features"]
    spec = {**spec, "seed": spec["seed"] + 1}
    with pytest.raises(DataError, match=r"inputs\.json: v0\.feats: regenerated features differ"):
        generate_features(spec, "inputs.json")
