"""The small preset end to end: vectorised heads equal per-video/per-query computation, batched prediction
equals one-video prediction, quirk switches, and a few AdamW steps reduce the loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from unimd_lib.config.model import ModelConfig
from unimd_lib.data.collate import collate
from unimd_lib.data.record import TaskQueries, VideoQueries
from unimd_lib.model.unimd import UniMD
from unimd_lib.train.optim import clip_grad_l2norm, make_adamw

C_IN, K_TAD, E, T_MAX = 24, 4, 16, 64


def _records(seed: int = 0, lengths=(64, 45), n_mr=(3, 2)) -> list[VideoQueries]:
    rng = np.random.default_rng(seed)
    tad_q = rng.standard_normal((K_TAD, E)).astype(np.float32)
    recs = []
    for i, (t, n) in enumerate(zip(lengths, n_mr, strict=True)):
        feats = rng.standard_normal((C_IN, t)).astype(np.float32)
        segs = np.sort(rng.uniform(0, t, (3, 2)), axis=1).astype(np.float32)
        tad = TaskQueries(tad_q, [f"c{k}" for k in range(K_TAD)], segs, rng.integers(0, K_TAD, 3))
        mr_segs = np.sort(rng.uniform(0, t, (n, 2)), axis=1).astype(np.float32)
        mr = TaskQueries(
            rng.standard_normal((n, E)).astype(np.float32), [f"q{j}" for j in range(n)], mr_segs, np.arange(n)
        )
        recs.append(VideoQueries(f"vid{i}", feats, 30.0, t * 16 / 30, 16.0, 16.0, tad=tad, mr=mr))
    return recs


@pytest.fixture(scope="module")
def small_model():
    torch.manual_seed(0)
    model = UniMD(ModelConfig.small(C_IN, K_TAD, T_MAX, channels=E))
    with torch.no_grad():  # make the BN / fusion / scales non-trivial
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model.eval()


def test_batched_heads_equal_one_video_at_a_time(small_model):
    recs = _records()
    with torch.no_grad():
        both = small_model(collate(recs, max_seq_len=T_MAX, training=False))
        for i, rec in enumerate(recs):
            one = small_model(collate([rec], max_seq_len=T_MAX, training=False))
            k = rec.mr.num_queries
            for level in range(6):
                torch.testing.assert_close(both.mr.cls_logits[level][i, :k], one.mr.cls_logits[level][0])
                torch.testing.assert_close(both.mr.offsets[level][i, :k], one.mr.offsets[level][0])
                torch.testing.assert_close(both.tad.offsets[level][i], one.tad.offsets[level][0])


def test_dynamic_conv_equals_a_loop_over_videos_and_queries(small_model):
    head = small_model.reg_head
    torch.manual_seed(1)
    h = torch.randn(2, E, 10)
    mask = torch.ones(2, 1, 10)
    q = torch.randn(2, 3, E)
    w, b = head.kernels(q.reshape(6, E))
    w, b = w.reshape(2, 3, *w.shape[1:]), b.reshape(2, 3, 2)
    fast = head.per_video_offsets(h, mask, w, b, head.scales[2].scale)
    for v in range(2):
        for k in range(3):
            ref = torch.relu(head.scales[2](F.conv1d(h[v : v + 1], w[v, k], b[v, k], padding=1)))
            torch.testing.assert_close(fast[v, k], ref[0])
    shared = head.shared_offsets(h, mask, w[0], b[0], head.scales[2].scale)
    torch.testing.assert_close(shared[0], fast[0])


def test_generated_kernels_are_non_negative_unless_switched_off():
    cfg = ModelConfig.small(C_IN, K_TAD, T_MAX, channels=E)
    w, b = UniMD(cfg).reg_head.kernels(torch.randn(5, E))
    assert (w >= 0).all() and (b >= 0).all()
    cfg.quirks.relu_on_generated_kernels = False
    w, _ = UniMD(cfg).reg_head.kernels(torch.randn(5, E))
    assert (w < 0).any()


def test_predict_batch_equals_single_videos(small_model):
    recs = _records(1)
    both = small_model.predict(collate(recs, max_seq_len=T_MAX, training=False))
    for i, rec in enumerate(recs):
        one = small_model.predict(collate([rec], max_seq_len=T_MAX, training=False))[0]
        for task in ("tad", "mr"):
            np.testing.assert_allclose(both[i][task].scores, one[task].scores, rtol=0, atol=1e-5)
            np.testing.assert_array_equal(both[i][task].labels, one[task].labels)
            segs = both[i][task].segments
            assert segs.min() >= 0 and segs.max() <= rec.duration  # seconds, clamped


def test_few_adamw_steps_reduce_the_loss():
    torch.manual_seed(0)
    model = UniMD(ModelConfig.small(C_IN, K_TAD, T_MAX, channels=E))
    model.train()
    batch = collate(_records(2), max_seq_len=T_MAX, training=True)
    opt = make_adamw(model, 1e-3, 0.05)
    losses = []
    for _ in range(6):
        opt.zero_grad(set_to_none=True)
        out = model.loss(batch)
        out["loss"].backward()
        clip_grad_l2norm(model.parameters(), 1.0)
        opt.step()
        # the shared normaliser shrinks too: compare the un-normalised loss sums
        losses.append(float(out["loss"].detach()) * out["loss_normalizer"])
    assert losses[-1] < 0.5 * losses[0]
    assert set(out) >= {"tad", "mr", "num_pos", "loss", "loss_normalizer"}
    assert model.cls_head.norms[1].weight.grad is None  # unused in the original too


def test_one_task_batches_and_separate_normalisers():
    cfg = ModelConfig.small(C_IN, K_TAD, T_MAX, channels=E)
    cfg.quirks.shared_loss_normalizer = False
    model = UniMD(cfg).train()
    recs = _records(3)
    for r in recs:
        r.tad = None
    out = model.loss(collate(recs, max_seq_len=T_MAX, training=True))
    assert "tad" not in out and "mr" in out
    assert model.loss_normalizer.get("tad") == cfg.train_cfg.init_loss_norm
    assert model.loss_normalizer.get("mr") != cfg.train_cfg.init_loss_norm
