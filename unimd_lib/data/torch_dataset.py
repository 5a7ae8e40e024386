"""The torch side of the data layer: a ``Dataset`` wrapper that crops training records reproducibly, and
loader construction from a ``PlanSampler``. Records stay numpy until ``data.collate``."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import numpy as np
import torch.utils.data

from unimd_lib.data.batch import Batch
from unimd_lib.data.collate import collate
from unimd_lib.data.crop import random_crop
from unimd_lib.data.dataset import VideoDataset
from unimd_lib.data.record import VideoQueries
from unimd_lib.data.samplers import PlanSampler, individual_plan, sync_plan

SCHEMES = ("individual", "random", "sync")


class TorchVideoDataset(torch.utils.data.Dataset):
    """``VideoDataset`` records, randomly cropped when ``crop`` (default: the dataset's ``training`` flag).

    The crop of item ``i`` in epoch ``e`` uses ``default_rng([seed, e, i])``: the same in every worker and
    after a resume. Call ``set_epoch`` each epoch (``PlanSampler.set_epoch`` does not reach workers). The epoch
    lives in shared memory, so it also reaches persistent loader workers (which keep their feature cache).
    """

    def __init__(self, dataset: VideoDataset, *, crop: bool | None = None, seed: int = 0):
        self.dataset, self.seed = dataset, int(seed)
        self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()
        self.crop = dataset.training if crop is None else crop

    @property
    def epoch(self) -> int:
        return int(self._epoch)

    def set_epoch(self, epoch: int) -> None:
        self._epoch.fill_(int(epoch))

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> VideoQueries:
        record = self.dataset[index]
        if not self.crop:
            return record
        cfg = self.dataset.cfg
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        return random_crop(
            record, rng, max_seq_len=cfg.max_seq_len, trunc_thresh=cfg.trunc_thresh, crop_ratio=cfg.crop_ratio
        )


def collate_training(records: Sequence[VideoQueries], *, max_seq_len: int) -> Batch | None:
    """Training collate: drops videos that carry no task (empty annotation lists, spec §3.13 step 1);
    None when nothing is left."""
    kept = [r for r in records if r.tasks]
    return collate(kept, max_seq_len=max_seq_len, training=True) if kept else None


def make_loader(
    data: TorchVideoDataset, sampler: PlanSampler | None = None, *, training: bool, num_workers: int = 0
) -> torch.utils.data.DataLoader:
    """Training: batches from ``sampler``; evaluation: one video per batch (spec §5.3), in ``video_ids`` order.
    Workers persist across epochs, and with them the dataset's feature cache (see ``VideoDataset.warm_cache``)."""
    max_seq_len = data.dataset.cfg.max_seq_len
    workers = dict(num_workers=num_workers, persistent_workers=num_workers > 0)
    if training:
        if sampler is None:
            raise ValueError("a training loader needs a PlanSampler")
        fn = partial(collate_training, max_seq_len=max_seq_len)
        return torch.utils.data.DataLoader(data, batch_sampler=sampler, collate_fn=fn, **workers)
    fn = partial(collate, max_seq_len=max_seq_len, training=False)
    return torch.utils.data.DataLoader(data, batch_size=1, shuffle=False, collate_fn=fn, **workers)


def make_sampler(
    dataset: VideoDataset,
    scheme: str,
    batch_size: int,
    seed: int,
    task_ratio: tuple[int, int] = (1, 1),
    sync_fill: str = "min",
) -> PlanSampler:
    """The training batch sampler of one scheme (spec §7): ``individual`` (dataset of one task), ``random``
    (one shuffled pass over the union; dataset with ``tasks='all'``) or ``sync`` (``tasks='all'``)."""
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    if (scheme == "individual") != (dataset.tasks in ("tad", "mr")):
        need = "a single-task dataset" if scheme == "individual" else "a dataset with tasks='all'"
        raise ValueError(f"{scheme} training needs {need}, got tasks={dataset.tasks!r}")
    if scheme == "sync":
        parts = dataset.indices("tad_only"), dataset.indices("mr_only"), dataset.indices("both")
        return PlanSampler(lambda e: sync_plan(*parts, batch_size, seed, e, task_ratio, sync_fill))
    every = list(range(len(dataset)))
    return PlanSampler(lambda e: individual_plan(every, batch_size, seed, e))
