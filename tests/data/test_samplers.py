"""Batch plans: counts over an epoch against the definitions of spec §5.3 (individual, drop_last) and §7.2-7.3
(random and synchronised co-training), plus resume-determinism."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch.utils.data

from unimd_lib.data.samplers import PlanSampler, fix_len_sample, individual_plan, sync_plan

TAD_ONLY, MR_ONLY, BOTH = list(range(0, 7)), list(range(7, 12)), list(range(12, 18))  # 7 / 5 / 6 videos


def test_individual_epoch_draws_each_video_at_most_once():
    steps = individual_plan(list(range(11)), 3, seed=0, epoch=0)
    drawn = [i for s in steps for i in s.indices]
    assert len(steps) == 3 and all(len(s.indices) == 3 for s in steps)  # floor(11 / 3), drop_last
    assert len(drawn) == len(set(drawn)) == 9 and set(drawn) <= set(range(11))


def test_individual_is_uniform_over_epochs_and_resumable():
    counts = Counter()
    for epoch in range(600):
        counts.update(i for s in individual_plan(list(range(5)), 2, seed=1, epoch=epoch) for i in s.indices)
    # each epoch draws 4 of 5 videos: expected 600·4/5 = 480 per video
    assert all(abs(c - 480) < 60 for c in counts.values()) and len(counts) == 5
    a = individual_plan(list(range(50)), 4, seed=9, epoch=3)
    assert a == individual_plan(list(range(50)), 4, seed=9, epoch=3)  # a resumed run replays epoch 3
    assert a != individual_plan(list(range(50)), 4, seed=9, epoch=4)


def test_sync_epoch_structure():
    steps = sync_plan(TAD_ONLY, MR_ONLY, BOTH, 2, seed=0, epoch=0)
    kinds = Counter(s.kind for s in steps)
    # m = min(7, 5) = 5 → floor(5/2) = 2 diff steps; floor(6/2) = 3 both steps
    assert kinds == {"diff": 2, "both": 3}
    for s in steps:
        if s.kind == "diff":  # bs TAD-only then bs MR-only: 2·bs videos, both tasks present
            assert len(s.indices) == 4 and set(s.indices[:2]) <= set(TAD_ONLY) and set(s.indices[2:]) <= set(MR_ONLY)
        else:
            assert len(s.indices) == 2 and set(s.indices) <= set(BOTH)
    drawn = [i for s in steps for i in s.indices]
    assert len(drawn) == len(set(drawn))  # FixLenSampler without repetition (m ≤ each set)


def test_sync_counts_over_many_epochs_match_the_definition():
    video, kind_order = Counter(), Counter()
    epochs = 1500
    for epoch in range(epochs):
        steps = sync_plan(TAD_ONLY, MR_ONLY, BOTH, 2, seed=4, epoch=epoch)
        video.update(i for s in steps for i in s.indices)
        kind_order[steps[0].kind] += 1
    # per epoch: 4 of the 7 TAD-only (m = 5 drawn, 4 used), 4 of the 5 MR-only, all 6 both-task videos
    for i in TAD_ONLY:
        assert abs(video[i] / epochs - 4 / 7) < 0.05
    for i in MR_ONLY:
        assert abs(video[i] / epochs - 4 / 5) < 0.05
    assert all(video[i] == epochs for i in BOTH)
    # step types shuffled: the first step is a diff step in 2 of 5 orders
    assert abs(kind_order["diff"] / epochs - 2 / 5) < 0.05


def test_sync_task_ratio():
    steps = sync_plan(list(range(10)), list(range(10, 14)), [], 1, seed=0, epoch=0, task_ratio=(2, 1))
    # m = min(10 // 2, 4 // 1) = 4 units → 4 steps of 2 TAD-only + 1 MR-only
    assert len(steps) == 4 and all(len(s.indices) == 3 and s.indices[2] >= 10 for s in steps)


def test_sync_without_any_step_is_an_error():
    with pytest.raises(ValueError, match="no step"):
        sync_plan([1], [], [2], 2, seed=0, epoch=0)


def test_fix_len_sampler_repeats_only_beyond_the_set():
    rng = np.random.default_rng(0)
    assert sorted(fix_len_sample([5, 6, 7], 3, rng)) == [5, 6, 7]
    eight = fix_len_sample([5, 6, 7], 8, rng)
    assert len(eight) == 8 and sorted(eight[:3]) == [5, 6, 7] and set(eight) <= {5, 6, 7}


def test_plan_sampler_drives_a_dataloader_per_epoch():
    sampler = PlanSampler(lambda e: sync_plan(TAD_ONLY, MR_ONLY, BOTH, 2, seed=2, epoch=e))
    loader = torch.utils.data.DataLoader(list(range(18)), batch_sampler=sampler, collate_fn=list)
    first = list(loader)
    assert len(sampler) == len(first) == 5
    assert first == list(loader)  # same epoch, same batches
    sampler.set_epoch(1)
    assert list(loader) != first and [b for b in loader] == [s.indices for s in sync_plan(
        TAD_ONLY, MR_ONLY, BOTH, 2, seed=2, epoch=1)]  # fmt: skip


def test_sync_fill_max_sees_every_task_only_video_each_epoch():
    steps = sync_plan(TAD_ONLY, MR_ONLY, BOTH, batch_size=2, seed=4, epoch=0, fill="max")
    diff = [s.indices for s in steps if s.kind == "diff"]
    # m = max(7, 5) = 7 → floor(7 / 2) = 3 TAD-only + MR-only steps, the smaller MR-only set repeated
    assert len(diff) == 3 and sum(s.kind == "both" for s in steps) == 3
    tad = [i for d in diff for i in d[:2]]
    mr = [i for d in diff for i in d[2:]]
    assert len(set(tad)) == 6 and set(tad) <= set(TAD_ONLY)  # 6 of 7 (drop_last of the 7th)
    assert set(mr) <= set(MR_ONLY) and len(mr) == 6 and len(set(mr)) == 5  # all 5, one repeated
    with pytest.raises(ValueError, match="fill"):
        sync_plan(TAD_ONLY, MR_ONLY, BOTH, batch_size=2, seed=4, epoch=0, fill="all")
