"""Optimiser groups, LR schedule closed form, gradient clipping and model EMA (spec §5)."""

from __future__ import annotations

import math

import pytest
import torch

from unimd_lib.config.model import ModelConfig
from unimd_lib.model.unimd import UniMD
from unimd_lib.train.optim import (
    ModelEma,
    WarmupCosineSchedule,
    clip_grad_l2norm,
    make_adamw,
    param_groups,
    warmup_cosine_lr,
)


def test_param_groups_partition_and_original_counts():
    model = UniMD(ModelConfig(input_dim=2048, num_classes=157, max_seq_len=288))
    decay, no_decay = param_groups(model, 0.05)
    # the original's make_optimizer on this config: 135 decayed, 326 not (refcases results.json "optim")
    assert (len(decay["params"]), len(no_decay["params"])) == (135, 326)
    assert decay["weight_decay"] == 0.05 and no_decay["weight_decay"] == 0.0
    assert "backbone.stem.0.fc1.weight" in decay["names"] and "backbone.stem.0.dwconv.weight" in decay["names"]
    for name in (
        "backbone.stem.0.layer_scale",
        "neck.layers.0.td_weights.l4",
        "reg_head.scales.0.scale",
        "cls_head.affine.weight",
        "neck.layers.0.in_bns.l0.weight",
        "backbone.embed_norms.0.weight",
    ):
        assert name in no_decay["names"], name
    opt = make_adamw(model, 1e-4, 0.05)
    assert sum(len(g["params"]) for g in opt.param_groups) == len(list(model.parameters()))


def test_warmup_cosine_closed_form():
    kw = {"base_lr": 1.0, "warmup_iters": 10, "total_iters": 110, "eta_min": 1e-8}
    assert warmup_cosine_lr(0, **kw) == 0.0  # the first iteration runs at lr 0
    assert warmup_cosine_lr(3, **kw) == pytest.approx(3 / 9)
    assert warmup_cosine_lr(9, **kw) == pytest.approx(1.0)
    assert warmup_cosine_lr(10, **kw) == pytest.approx(1.0)
    assert warmup_cosine_lr(60, **kw) == pytest.approx(1e-8 + 0.5 * (1 - 1e-8))
    assert warmup_cosine_lr(110, **kw) == pytest.approx(1e-8)
    # Charades I3D: warm-up 10 + 60 epochs, stopped after 20 → the cosine ends at 1/6, lr ≈ 0.93·base
    e = 100
    last = warmup_cosine_lr(20 * e - 1, base_lr=1.0, warmup_iters=10 * e, total_iters=70 * e)
    assert last == pytest.approx(0.5 * (1 + math.cos(math.pi * (10 * e - 1) / (60 * e))))


def test_schedule_object_steps_and_resumes():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([p], lr=2.0)
    sched = WarmupCosineSchedule(opt, warmup_iters=3, total_iters=10)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(5):
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs[:3] == pytest.approx([0.0, 1.0, 2.0])
    resumed = WarmupCosineSchedule(torch.optim.AdamW([p], lr=2.0), warmup_iters=3, total_iters=10)
    resumed.load_state_dict(sched.state_dict())
    assert resumed.get_last_lr() == pytest.approx(sched.get_last_lr())


def test_clip_returns_pre_clip_norm():
    p = torch.nn.Parameter(torch.zeros(2))
    p.grad = torch.tensor([3.0, 4.0])
    assert clip_grad_l2norm([p], 1.0) == pytest.approx(5.0)
    assert p.grad.norm() == pytest.approx(1.0, rel=1e-5)
    p.grad = torch.tensor([3.0, 4.0])
    assert clip_grad_l2norm([p], -1) == pytest.approx(5.0) and p.grad.tolist() == [3.0, 4.0]


def test_ema_averages_parameters_and_buffers():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    ema = ModelEma(model, decay=0.9)
    with torch.no_grad():
        model[0].weight.add_(1.0)
        model[1].running_mean.fill_(1.0)
        model[1].num_batches_tracked.fill_(15)
    before = ema.module[0].weight.clone()
    ema.update(model)
    torch.testing.assert_close(ema.module[0].weight, 0.9 * before + 0.1 * model[0].weight)
    assert torch.allclose(ema.module[1].running_mean, torch.full((2,), 0.1))
    # int buffer: the float result 1.5 is truncated back to int, as in the original
    assert ema.module[1].num_batches_tracked.item() == 1
    copy_ema = ModelEma(model, decay=0.9, average_buffers=False)
    with torch.no_grad():
        model[1].running_mean.fill_(3.0)
    copy_ema.update(model)
    assert torch.equal(copy_ema.module[1].running_mean, model[1].running_mean)
    assert not ema.module.training and not any(p.requires_grad for p in ema.module.parameters())
