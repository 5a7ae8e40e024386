"""Re-run a parity reference case with our model and write outputs in the reference files' layout.

The call sequence follows refcases/model/README.md §4: every stage starts from a fresh copy of the recipe-weight
model; eval runs one video at a time (``eval()``, no grad); the deterministic train forward runs the 2-video batch
in ``train()`` mode with dropout/drop-path off (BatchNorm in train mode); the stochastic one replays the recorded
keep masks; the optimiser check runs 4 forwards / 3 AdamW steps at constant LR with clipping, no schedule, no EMA.
Arrays are keyed and shaped exactly as in the reference ``.npz`` files; parameter names are the original ones.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import numpy as np
import torch

from unimd_lib.formats.files import atomic_path, write_json_atomic
from unimd_lib.model.inference import detections
from unimd_lib.model.layers import Dropout, DropPath
from unimd_lib.model.original import name_map, original_shape
from unimd_lib.model.unimd import UniMD
from unimd_lib.parity.case import Case, build_model, load_case
from unimd_lib.train.optim import clip_grad_l2norm, make_adamw, param_groups

SMALL_GRAD_NUMEL = 4096
SMALL_PARAM_NUMEL = 64


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def _losses_json(losses: dict) -> dict:
    return {t: {k: float(v.detach()) for k, v in losses[t].items()} for t in ("tad", "mr") if t in losses}


def set_deterministic(model: UniMD) -> None:
    """Turn drop-path and dropout off (rates 0), keeping ``train()`` mode for BatchNorm (README §4.5)."""
    for m in model.modules():
        if isinstance(m, DropPath):
            m.drop_prob = 0.0
        elif isinstance(m, Dropout):
            m.p = 0.0


def replay_masks(model: UniMD, masks: dict[str, np.ndarray]) -> dict[str, list[int]]:
    """Make the stochastic layers use the recorded keep masks of ``train_stochastic_masks.npz``.

    Drop-path: ``droppath.<module>`` (B,). Dropout: ``dropout.reg_head.query_fcs.<i>.0.call<k>.<task>``; the
    original draws TAD once, then MR once per video; we run all MR queries of the batch in one call, so the
    per-video masks are concatenated in video order.
    """
    keep = {}
    for name, mod in model.named_modules():
        if isinstance(mod, DropPath) and f"droppath.{name}" in masks:
            arr = masks[f"droppath.{name}"]
            keep[f"droppath.{name}"] = arr.astype(int).tolist()
            mod.sample_keep = lambda x, kp, arr=arr: torch.from_numpy(arr.astype(np.float32)).to(x).reshape(-1, 1, 1)
    for i, mod in enumerate(model.reg_head.kernels.dropouts):
        prefix = f"dropout.reg_head.query_fcs.{i}.0."
        tad = [masks[k] for k in sorted(masks) if k.startswith(prefix) and k.endswith(".tad")]
        mr_keys = sorted((k for k in masks if k.startswith(prefix) and k.endswith(".mr")), key=_call_index)
        queue = tad + ([np.concatenate([masks[k] for k in mr_keys])] if mr_keys else [])
        mod.sample_keep = lambda x, kp, q=queue: torch.from_numpy(q.pop(0).astype(np.float32)).to(x)
    return keep


def _call_index(key: str) -> int:
    return int(key.split(".call")[1].split(".")[0])


def run_eval(model: UniMD, case: Case) -> tuple[dict[str, np.ndarray], dict]:
    """Eval outputs per video (README §3 ``eval_outputs.npz`` keys) and the ``eval`` section of results.json."""
    model.eval()
    arrays: dict[str, np.ndarray] = {}
    summary: dict = {}
    captured: dict = {}
    hook = model.backbone.register_forward_hook(lambda m, i, o: captured.update(backbone=o))
    try:
        for v in range(len(case.records)):
            p = f"v{v}."
            batch = case.batch([v], training=False)
            start = time.perf_counter()
            with torch.no_grad():
                out = model(batch)
                cands = model.candidates(batch, out)[0]
                dets = _detections(model, batch, cands)
            summary[p + "eval_seconds"] = time.perf_counter() - start
            feats, masks = captured["backbone"]
            for l in range(len(out.feats)):
                arrays[f"{p}backbone.feat.l{l}"] = _np(feats[l])
                arrays[f"{p}backbone.mask.l{l}"] = _np(masks[l].bool())
                arrays[f"{p}neck.feat.l{l}"] = _np(out.feats[l])
                arrays[f"{p}neck.mask.l{l}"] = _np(out.masks[l][:, None])
                arrays[f"{p}points.l{l}"] = _np(out.points[l])
            for l in range(len(out.feats)):
                arrays[f"{p}tad.cls_logits.l{l}"] = _np(out.tad.cls_logits[l])
                arrays[f"{p}mr.cls_logits.b0.l{l}"] = _np(out.mr.cls_logits[l][0])
            for l in range(len(out.feats)):
                arrays[f"{p}tad.offsets.l{l}"] = _np(out.tad.offsets[l])
                arrays[f"{p}mr.offsets.b0.l{l}"] = _np(out.mr.offsets[l][0])
            for task in ("tad", "mr"):
                for field, arr in zip(("segments", "scores", "labels"), cands[task], strict=True):
                    arrays[f"{p}{task}.pre_nms.{field}"] = arr
            for task in ("tad", "mr"):
                for field, arr in zip(("segments", "scores", "labels"), dets[task], strict=True):
                    arrays[f"{p}{task}.det.{field}"] = arr
                summary[f"{p}{task}"] = _top5(batch.video_ids[0], dets[task])
            for task in ("tad", "mr"):
                single = case.batch([v], training=False, tasks=(task,))
                with torch.no_grad():
                    alone = model.predict(single)[0][task]
                summary[f"{p}{task}_only_call_identical"] = all(
                    np.array_equal(a, b) for a, b in zip(alone, dets[task], strict=True)
                )
    finally:
        hook.remove()
    return arrays, summary


def _detections(model: UniMD, batch, cands) -> dict:
    per_video = model.cfg.quirks.max_seg_num_per_video
    return detections([cands], batch, model.cfg.test_cfg, per_video_cap=per_video)[0]


def _top5(video_id: str, det) -> dict:
    top = [
        {"segment": [float(s[0]), float(s[1])], "score": float(sc), "label": int(lb)}
        for s, sc, lb in zip(det.segments[:5], det.scores[:5], det.labels[:5], strict=True)
    ]
    return {"video_id": video_id, "n": int(det.scores.size), "top5": top}


def run_train_deterministic(model: UniMD, case: Case) -> tuple[dict, dict, dict]:
    """Train forward + backward of the 2-video batch: (train_outputs arrays, small grads, results section)."""
    model.train()
    set_deterministic(model)
    batch = case.batch(list(range(len(case.records))), training=True)
    out = model(batch)
    losses = model.loss(batch, out)
    arrays: dict[str, np.ndarray] = {}
    for l in range(len(out.feats)):
        arrays[f"neck.feat.l{l}"] = _np(out.feats[l])
    for l in range(len(out.feats)):
        arrays[f"neck.mask.l{l}"] = _np(out.masks[l][:, None])
    for l in range(len(out.feats)):
        arrays[f"tad.cls_logits.l{l}"] = _np(out.tad.cls_logits[l])
    _per_video(arrays, out.mr, "mr.cls_logits", lambda t, l: t.cls_logits[l])
    for l in range(len(out.feats)):
        arrays[f"tad.offsets.l{l}"] = _np(out.tad.offsets[l])
    _per_video(arrays, out.mr, "mr.offsets", lambda t, l: t.offsets[l])
    for task in ("tad", "mr"):
        gt_cls, gt_reg = model.targets(batch, out.points, task)
        n_q = getattr(out, task).query_mask.sum(dim=1).tolist()
        for b, k in enumerate(n_q):
            arrays[f"{task}.gt_cls.b{b}"] = _np(gt_cls[b, :, :k])
            arrays[f"{task}.gt_offsets.b{b}"] = _np(gt_reg[b, :, :k])
    tc = model.cfg.train_cfg
    losses["loss"].backward()
    names = name_map(model)
    grads_small, stats, total = {}, [], 0.0
    for ours, p in model.named_parameters():
        orig = names[ours]
        if p.grad is None:
            stats.append({"name": orig, "grad": None})
            continue
        g = p.grad.detach().double()
        total += float((g * g).sum())
        stats.append(
            {
                "name": orig,
                "shape": list(p.shape),
                "l2": float(g.norm()),
                "sum": float(g.sum()),
                "absmax": float(g.abs().max()),
            }
        )
        if p.numel() <= SMALL_GRAD_NUMEL:
            grads_small[orig] = _np(p.grad).reshape(_orig_shape(p, orig))
    bn_sums = {
        names[k]: {"running_mean_sum": float(v.double().sum())}
        for k, v in model.state_dict().items()
        if k.endswith("running_mean")
    }
    section = {
        "losses": _losses_json(losses),
        "backward_loss": float(losses["loss"].detach()),
        "loss_normalizer_after": losses["loss_normalizer"],
        "num_pos": losses["num_pos"],
        "grad_total_l2": total**0.5,
        "grad_stats": stats,
        "bn_running_mean_sums_after_forward": bn_sums,
        "loss_weights": {"tad": tc.tad_loss_weight, "mr": tc.mr_loss_weight},
    }
    return arrays, grads_small, section


def _per_video(arrays: dict, t_out, key: str, get) -> None:
    n_q = t_out.query_mask.sum(dim=1).tolist()
    for l in range(len(t_out.cls_logits)):
        for b, k in enumerate(n_q):
            arrays[f"{key}.b{b}.l{l}"] = _np(get(t_out, l)[b, :k])


def _orig_shape(p: torch.Tensor, orig: str) -> tuple[int, ...]:
    return original_shape(orig, p.shape)


def run_train_stochastic(model: UniMD, case: Case) -> dict | None:
    """Train forward with drop-path/dropout replaying the recorded masks (None when the case has none)."""
    path = case.variant_dir / "train_stochastic_masks.npz"
    if not path.exists():
        return None
    masks = dict(np.load(path))
    model.train()
    keep = replay_masks(model, masks)
    batch = case.batch(list(range(len(case.records))), training=True)
    with torch.no_grad():
        losses = model.loss(batch)
    return {
        "masks": "replayed from train_stochastic_masks.npz",
        "losses": _losses_json(losses),
        "backward_loss": float(losses["loss"].detach()),
        "droppath_keep": keep,
    }


def run_optim(model: UniMD, case: Case, steps: int = 3) -> tuple[dict, dict]:
    """``steps`` AdamW steps at the config LR (no schedule, no EMA), ``steps + 1`` forwards (README §4.7)."""
    model.train()
    set_deterministic(model)
    opt_cfg = case.opt
    lr = float(opt_cfg["learning_rate"])
    wd = float(opt_cfg["weight_decay"])
    optimizer = make_adamw(model, lr, wd)
    clip = model.cfg.train_cfg.clip_grad_l2norm
    batch = case.batch(list(range(len(case.records))), training=True)
    history = []
    for k in range(steps + 1):
        optimizer.zero_grad(set_to_none=True)
        losses = model.loss(batch)
        entry = {
            "after_n_steps": k,
            "losses": _losses_json(losses),
            "backward_loss": float(losses["loss"].detach()),
            "loss_normalizer_after_forward": losses["loss_normalizer"],
        }
        if k < steps:
            losses["loss"].backward()
            entry["grad_norm_before_clip"] = clip_grad_l2norm(model.parameters(), clip)
            optimizer.step()
        history.append(entry)
    names = name_map(model)
    small = {
        names[n]: _np(p).reshape(_orig_shape(p, names[n]))
        for n, p in model.named_parameters()
        if p.numel() <= SMALL_PARAM_NUMEL
    }
    groups = param_groups(model, wd)
    section = {
        "optimizer": "AdamW",
        "lr": lr,
        "weight_decay_groups": [g["weight_decay"] for g in groups],
        "n_params_per_group": [len(g["params"]) for g in groups],
        "clip_grad_l2norm": clip,
        "tad_loss_weight": model.cfg.train_cfg.tad_loss_weight,
        "mr_loss_weight": model.cfg.train_cfg.mr_loss_weight,
        "scheduler": "none (constant LR = config learning_rate)",
        "history": history,
    }
    return small, section


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


def run_case(case_dir: str | Path, out_dir: str | Path, *, variant: str = "recipe", threads: int | None = 2) -> dict:
    """Run every stage of a case and write ``eval_outputs.npz``, ``train_outputs.npz``, ``train_grads_small.npz``,
    ``optim_params_after_3_steps_small.npz`` and ``results.json`` into ``out_dir``. Returns the results dict."""
    if threads:
        torch.set_num_threads(threads)
    case = load_case(case_dir, variant)
    out = Path(out_dir)
    pristine = build_model(case)
    results: dict = {"case": case.name, "variant": variant}

    eval_arrays, results["eval"] = run_eval(copy.deepcopy(pristine), case)
    _save_npz(out / "eval_outputs.npz", eval_arrays)
    del eval_arrays

    train_arrays, grads_small, results["train_deterministic"] = run_train_deterministic(copy.deepcopy(pristine), case)
    _save_npz(out / "train_outputs.npz", train_arrays)
    _save_npz(out / "train_grads_small.npz", grads_small)
    del train_arrays, grads_small

    stochastic = run_train_stochastic(copy.deepcopy(pristine), case)
    if stochastic is not None:
        results["train_stochastic"] = stochastic

    params_small, results["optim"] = run_optim(pristine, case)
    _save_npz(out / "optim_params_after_3_steps_small.npz", params_small)
    write_json_atomic(out / "results.json", json.loads(json.dumps(results)))
    return results
