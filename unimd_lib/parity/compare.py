"""Summary of the deviations between our parity outputs and a reference case (for ``unimd parity --compare``).

Groups follow refcases/model/README.md §6: raw tensors as max abs / max rel deviation, losses as relative
deviation, detections as order-insensitive sets (label, segment ±1e-3, score ±1e-5).
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class MatchResult:
    matched: int
    unmatched_actual: list[int]
    unmatched_expected: list[int]
    max_score_dev: float
    max_seg_dev: float


def match_detections(actual, expected, *, seg_tol: float, score_tol: float) -> MatchResult:
    """Match two (segments [N,2], scores [N], labels [N]) sets one-to-one: same label, every segment end within
    ``seg_tol`` and score within ``score_tol``. Order-insensitive, so near-tied scores may come in any order."""
    a_seg, a_sc, a_lb = (np.asarray(x) for x in actual)
    e_seg, e_sc, e_lb = (np.asarray(x) for x in expected)
    order = np.argsort(a_sc, kind="stable")
    keys = a_sc[order].astype(np.float64).tolist()
    used = np.zeros(a_sc.size, dtype=bool)
    unmatched_e, score_dev, seg_dev = [], 0.0, 0.0
    for j in range(e_sc.size):
        s = float(e_sc[j])
        lo, hi = bisect.bisect_left(keys, s - score_tol), bisect.bisect_right(keys, s + score_tol)
        best, best_d = -1, np.inf
        for pos in range(lo, hi):
            i = int(order[pos])
            if used[i] or a_lb[i] != e_lb[j]:
                continue
            d = float(np.abs(a_seg[i].astype(np.float64) - e_seg[j]).max())
            if d <= seg_tol and d < best_d:
                best, best_d = i, d
        if best < 0:
            unmatched_e.append(j)
            continue
        used[best] = True
        score_dev = max(score_dev, abs(float(a_sc[best]) - s))
        seg_dev = max(seg_dev, best_d)
    return MatchResult(int(used.sum()), np.flatnonzero(~used).tolist(), unmatched_e, score_dev, seg_dev)


def _dev(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    fin = np.isfinite(b)
    if not fin.any():
        return 0.0, 0.0
    d = np.abs(a[fin] - b[fin])
    return float(d.max()), float((d / (np.abs(b[fin]) + 1e-6)).max())


def _group(ours: dict, ref: dict, keys: list[str]) -> dict:
    worst = [0.0, 0.0]
    for k in keys:
        if ours[k].shape != ref[k].shape:
            return {"n": len(keys), "error": f"{k}: shape {ours[k].shape} != {ref[k].shape}"}
        ab, rel = _dev(ours[k], ref[k])
        worst = [max(worst[0], ab), max(worst[1], rel)]
    return {"n": len(keys), "max_abs": worst[0], "max_rel": worst[1]}


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-12)


def compare_outputs(out_dir: str | Path, ref_dir: str | Path) -> dict:
    """Deviation summary of the files ``harness.run_case`` wrote into ``out_dir`` against ``ref_dir``."""
    out_dir, ref_dir = Path(out_dir), Path(ref_dir)
    summary: dict = {}
    ours, ref = dict(np.load(out_dir / "eval_outputs.npz")), dict(np.load(ref_dir / "eval_outputs.npz"))
    feat = sorted(k for k in ref if ".backbone.feat" in k or ".neck.feat" in k)
    heads = sorted(k for k in ref if any(f".{t}." in k for t in ("cls_logits", "offsets")))
    summary["eval.features"] = _group(ours, ref, feat)
    summary["eval.heads"] = _group(ours, ref, heads)
    for kind, tol in (("pre_nms", 1e-3), ("det", 1e-3)):
        for k in sorted({k.rsplit(".", 1)[0] for k in ref if f".{kind}." in k}):
            a = [ours[f"{k}.{f}"] for f in ("segments", "scores", "labels")]
            b = [ref[f"{k}.{f}"] for f in ("segments", "scores", "labels")]
            m = match_detections(a, b, seg_tol=tol, score_tol=1e-5)
            summary[k] = {
                "n": int(b[1].size),
                "n_ours": int(a[1].size),
                "unmatched": len(m.unmatched_expected),
                "max_score_dev": m.max_score_dev,
                "max_seg_dev": m.max_seg_dev,
            }
    ours, ref = dict(np.load(out_dir / "train_outputs.npz")), dict(np.load(ref_dir / "train_outputs.npz"))
    summary["train.outputs"] = _group(ours, ref, sorted(k for k in ref if ".gt_" not in k))
    summary["train.targets"] = _group(ours, ref, sorted(k for k in ref if ".gt_" in k))
    ours, ref = dict(np.load(out_dir / "train_grads_small.npz")), dict(np.load(ref_dir / "train_grads_small.npz"))
    rel_to_max = max(_dev(ours[k], ref[k])[0] / (float(np.abs(ref[k]).max()) + 1e-12) for k in ref)
    summary["train.grads_small"] = {"n": len(ref), "max_abs_over_tensor_absmax": rel_to_max}
    name = "optim_params_after_3_steps_small.npz"
    ours, ref = dict(np.load(out_dir / name)), dict(np.load(ref_dir / name))
    summary["optim.params_after_3_steps"] = _group(ours, ref, sorted(ref))
    res_o = json.loads((out_dir / "results.json").read_text())
    res_r = json.loads((ref_dir / "results.json").read_text())
    td_o, td_r = res_o["train_deterministic"], res_r["train_deterministic"]
    summary["train.losses_max_rel"] = max(
        _rel(td_o["losses"][t][k], td_r["losses"][t][k]) for t in ("tad", "mr") for k in td_r["losses"][t]
    )
    summary["train.num_pos_equal"] = td_o["num_pos"] == td_r["num_pos"]
    summary["train.loss_normalizer_abs_dev"] = abs(td_o["loss_normalizer_after"] - td_r["loss_normalizer_after"])
    if "train_stochastic" in res_o:
        so, sr = res_o["train_stochastic"]["losses"], res_r["train_stochastic"]["losses"]
        summary["train_stochastic.losses_max_rel"] = max(_rel(so[t][k], sr[t][k]) for t in sr for k in sr[t])
    summary["optim.backward_loss_rel_per_step"] = [
        _rel(a["backward_loss"], b["backward_loss"])
        for a, b in zip(res_o["optim"]["history"], res_r["optim"]["history"], strict=True)
    ]
    return summary
