"""The training loader keeps the feature cache across epochs: features are read once (``warm_cache``) and the
persistent workers serve every later epoch from it; the epoch still reaches them (reproducible crops)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch.utils.data

from tests.data.builders import ego4d_bench
from tests.data.test_dataset import MR, TAD
from unimd_lib.data.dataset import VideoDataset
from unimd_lib.data.samplers import PlanSampler, individual_plan
from unimd_lib.data.torch_dataset import TorchVideoDataset, make_loader
from unimd_lib.errors import DataError


@pytest.fixture
def bench(tmp_path):
    return ego4d_bench(tmp_path, TAD, MR)


def _epochs(loader, data, sampler, n=2):
    out = []
    for epoch in range(n):
        sampler.set_epoch(epoch)
        data.set_epoch(epoch)
        out.append([None if b is None else (b.video_ids, b.feats.clone()) for b in loader])
    return out


def test_features_are_read_once_and_served_from_the_cache_by_persistent_workers(bench):
    plan = PlanSampler(lambda e: individual_plan(list(range(4)), 2, seed=0, epoch=e))
    reference = TorchVideoDataset(VideoDataset(bench, "training", "all"), seed=3)
    expected = _epochs(make_loader(reference, plan, training=True), reference, plan)

    cached = VideoDataset(bench, "training", "all", cache=True)
    cached.warm_cache()
    shutil.rmtree(bench.feat_folder)  # from here on, any read of a feature file would fail
    data = TorchVideoDataset(cached, seed=3)
    sampler = PlanSampler(lambda e: individual_plan(list(range(4)), 2, seed=0, epoch=e))
    loader = make_loader(data, sampler, training=True, num_workers=2)
    got = _epochs(loader, data, sampler)
    assert loader.persistent_workers
    for got_epoch, exp_epoch in zip(got, expected, strict=True):
        assert len(got_epoch) == len(exp_epoch) == 2
        for g, e in zip(got_epoch, exp_epoch, strict=True):
            assert (g is None) == (e is None)
            if g is not None:
                assert g[0] == e[0]
                np.testing.assert_array_equal(g[1].numpy(), e[1].numpy())
    with pytest.raises(DataError, match="file not found"):  # the files are really gone: an uncached read fails
        VideoDataset(bench, "training", "all", check_files=False).record("a")


class _EpochProbe(TorchVideoDataset):
    def __getitem__(self, index: int) -> int:
        return self.epoch


def test_set_epoch_reaches_persistent_workers(bench):
    probe = _EpochProbe(VideoDataset(bench, "training", "all"))
    loader = torch.utils.data.DataLoader(probe, batch_size=None, num_workers=2, persistent_workers=True)
    seen = []
    for epoch in (0, 1, 5):
        probe.set_epoch(epoch)
        seen.append(sorted(set(loader)))
    assert seen == [[0], [1], [5]]


def test_warm_cache_needs_a_caching_dataset(bench):
    with pytest.raises(ValueError, match="cache=True"):
        VideoDataset(bench, "training", "all").warm_cache()
