"""Quirk switches (spec §11 items 1, 5, 6, 8, 9; items 2-4 are in test_small_model / test_assign_losses)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from unimd_lib.config import model as model_config
from unimd_lib.config.model import ModelConfig
from unimd_lib.data.collate import collate
from unimd_lib.data.record import TaskQueries, VideoQueries
from unimd_lib.model.inference import nms
from unimd_lib.model.neck import MaskedBatchNorm1d
from unimd_lib.model.unimd import UniMD
from unimd_lib.post.decode import Candidates


def _cfg(**quirks) -> ModelConfig:
    cfg = ModelConfig.small(8, 3, 32, channels=8)
    for k, v in quirks.items():
        setattr(cfg.quirks, k, v)
    return cfg


def test_cls_prior_prob_is_ignored_unless_switched_off():
    assert float(UniMD(_cfg()).cls_head.affine.bias.detach()) == 0.0
    b = float(UniMD(_cfg(ignore_cls_prior_prob=False)).cls_head.affine.bias.detach())
    assert b == pytest.approx(-math.log(0.99 / 0.01))


def _one_video(emb_scale: float = 3.0) -> list[VideoQueries]:
    rng = np.random.default_rng(0)
    mr = TaskQueries(
        emb_scale * rng.standard_normal((2, 8)).astype(np.float32),
        ["a", "b"],
        np.array([[4.0, 12.0], [10.0, 20.0]], np.float32),
        np.arange(2),
    )
    tad = TaskQueries(
        emb_scale * rng.standard_normal((3, 8)).astype(np.float32),
        ["x", "y", "z"],
        np.array([[2.0, 9.0]], np.float32),
        np.array([1]),
    )
    return [VideoQueries("v", rng.standard_normal((8, 32)).astype(np.float32), 30.0, 20.0, 16.0, 16.0, tad=tad, mr=mr)]


def test_query_normalisation_switches():
    torch.manual_seed(0)
    model = UniMD(_cfg()).eval()
    batch = collate(_one_video(), max_seq_len=32, training=False)
    plain = model(batch)
    model.cfg.quirks.normalize_mr_queries = True
    normed = model(batch)
    scaled = collate(_one_video(emb_scale=7.0), max_seq_len=32, training=False)
    normed_scaled = model(scaled)
    # with normalisation the MR logits no longer depend on the embedding norm; TAD is untouched
    torch.testing.assert_close(normed.mr.flat_logits, normed_scaled.mr.flat_logits, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(plain.mr.flat_logits, normed.mr.flat_logits)
    torch.testing.assert_close(plain.tad.flat_logits, normed.tad.flat_logits)


def test_label_smoothing_denominator_for_mr():
    torch.manual_seed(0)
    batch = collate(_one_video(), max_seq_len=32, training=True)
    losses = {}
    for flag in (True, False):
        cfg = _cfg(smoothing_uses_tad_num_classes=flag)
        cfg.train_cfg.label_smoothing = 0.1
        torch.manual_seed(0)
        model = UniMD(cfg)
        model.eval()  # no dropout/BN randomness; the loss does not need train mode
        losses[flag] = model.loss(batch)
    # TAD identical, MR differs: eps/(3+1) with the TAD class count vs eps/(2+1) with the video's 2 queries
    assert float(losses[True]["tad"]["cls_loss"].detach()) == float(losses[False]["tad"]["cls_loss"].detach())
    assert float(losses[True]["mr"]["cls_loss"].detach()) != float(losses[False]["mr"]["cls_loss"].detach())


def test_max_seg_num_cap_per_video_or_per_query():
    rng = np.random.default_rng(0)
    n = 30
    starts = np.arange(n, dtype=np.float32) * 10  # disjoint segments: soft-NMS keeps every one
    scores = rng.uniform(0.1, 1, n).astype(np.float32)
    cands = Candidates(np.stack([starts, starts + 2], 1), scores, np.arange(n) % 3, np.zeros(n, np.int64))  # 1 video
    cfg = model_config.TestConfig(max_seg_num=4, min_score=0.001)
    per_video = nms(cands, 1, cfg, per_video_cap=True)
    per_query = nms(cands, 1, cfg, per_video_cap=False)
    assert per_video.scores.size == 4  # the original: one cap for all queries of the video
    assert per_query.scores.size == 12 and all((per_query.labels == k).sum() == 4 for k in range(3))


def test_batchnorm_statistics_with_or_without_padding():
    torch.manual_seed(0)
    x = torch.randn(2, 4, 8)
    mask = torch.ones(2, 1, 8)
    mask[1, :, 5:] = 0
    x = x * mask  # padded positions enter the BN as zeros (masked 1x1 conv output)
    original, masked = MaskedBatchNorm1d(4, include_padding=True), MaskedBatchNorm1d(4, include_padding=False)
    y_orig, y_masked = original(x), masked(x, mask)
    valid = torch.cat([x[0], x[1, :, :5]], dim=1)  # [C, 13]
    mean, var = valid.mean(1), valid.var(1, unbiased=False)
    torch.testing.assert_close(y_masked[1, :, :5], (x[1, :, :5] - mean[:, None]) / torch.sqrt(var[:, None] + 1e-3))
    assert (y_masked[1, :, 5:] == 0).all() and (y_orig[1, :, 5:] != 0).any()  # original: BN(0) ≠ 0, not re-masked
    torch.testing.assert_close(masked.running_mean, 0.01 * mean)
