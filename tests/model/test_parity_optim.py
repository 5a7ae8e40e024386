"""Optimiser parity: 4 forwards / 3 AdamW steps at constant LR with grad clipping (README §4.7)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.model._compare import LOSS_RTOL, check_close
from tests.model.conftest import CASES
from unimd_lib.parity.harness import run_optim

# AdamW's first updates are ~ lr·sign(g): gradient entries that are float noise get a random ±lr, so float
# rounding differences grow with each step. Measured on ego4d: our own run with 1 vs 2 threads differs by
# 1.5e-4 (relative) in the loss after 3 steps (1 thread matches the reference to 4e-7, 2 threads to 1.5e-4),
# and the recorded grad norms agree to < 4e-5. Losses before any step and after 1 step keep README's 1e-5.
STEP_LOSS_RTOL = {0: LOSS_RTOL, 1: LOSS_RTOL, 2: 5e-4, 3: 5e-4}


@pytest.mark.parametrize("name", CASES)
def test_optim_parity(parity_cases, name):
    case, model = parity_cases(name)
    params, section = run_optim(model, case)
    ref_params = dict(np.load(case.variant_dir / "optim_params_after_3_steps_small.npz"))
    ref = json.loads((case.variant_dir / "results.json").read_text())["optim"]
    failures: list[str] = []
    assert section["n_params_per_group"] == ref["n_params_per_group"]
    assert section["weight_decay_groups"] == ref["weight_decay_groups"]
    for step, (ours, exp) in enumerate(zip(section["history"], ref["history"], strict=True)):
        rtol = STEP_LOSS_RTOL[step]
        pairs = [("backward_loss", ours["backward_loss"], exp["backward_loss"], rtol)]
        pairs += [
            (f"{t}.{k}", ours["losses"][t][k], exp["losses"][t][k], rtol)
            for t in ("tad", "mr")
            for k in ("cls_loss", "reg_loss", "final_loss")
        ]
        pairs.append(("normaliser", ours["loss_normalizer_after_forward"], exp["loss_normalizer_after_forward"], 1e-12))
        if "grad_norm_before_clip" in exp:
            pairs.append(("grad norm", ours["grad_norm_before_clip"], exp["grad_norm_before_clip"], 1e-4))
        for what, a, e, tol in pairs:
            if a != pytest.approx(e, rel=tol):
                failures.append(f"after {step} steps, {what}: {a!r} != {e!r} (rel {tol})")
    assert set(params) == set(ref_params)
    for k in sorted(ref_params):
        # each AdamW step moves a parameter by about lr (1e-4 / 1e-3): a tenth of one step (observed ≤ 2e-6)
        check_close(failures, f"param {k}", params[k], ref_params[k], rtol=0, atol=1e-5)
    assert not failures, "\n".join(failures)
