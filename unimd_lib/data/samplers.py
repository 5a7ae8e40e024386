"""Per-epoch batch plans for individual training and the two co-training schemes (spec §5.3, §7).

Every plan is a pure function of (index lists, batch size, seed, epoch): the generator of epoch ``e`` is
``numpy.random.default_rng([seed, e])``, so a run resumed at epoch ``e`` replays exactly the batches an
uninterrupted run would have drawn. Indices are positions in the dataset's ``video_ids``.

* individual / random co-training: one shuffled pass, ``drop_last`` → floor(n / bs) batches; for random
  co-training n is the union of TAD and MR videos and a batch may hold one task only (spec §7.2).
* synchronised co-training (spec §7.3): m = min(|TAD-only|, |MR-only|); each epoch draws m TAD-only and m
  MR-only videos (``FixLenSampler``: a random subset without repetition, or a permutation plus random
  repeats if m exceeded the set), cut into floor(m / bs) "diff" steps of bs + bs videos; the "both" videos
  form floor(|both| / bs) shuffled steps of bs; the step types are shuffled. ``task_ratio`` (r_tad, r_mr)
  generalises a diff step to bs·r_tad + bs·r_mr videos (the original is (1, 1)).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Step:
    """One training iteration: ``kind`` ∈ {single, diff, both} and the dataset positions it loads."""

    kind: str
    indices: list[int]


def epoch_rng(seed: int, epoch: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(epoch)])


def shuffled_batches(
    indices: Sequence[int], batch_size: int, rng: np.random.Generator, drop_last: bool = True
) -> list[list[int]]:
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = [int(indices[i]) for i in rng.permutation(len(indices))]
    stop = len(order) - len(order) % batch_size if drop_last else len(order)
    return [order[i : i + batch_size] for i in range(0, stop, batch_size)]


def fix_len_sample(indices: Sequence[int], m: int, rng: np.random.Generator) -> list[int]:
    """``m`` items of ``indices``: a random subset without repetition, or all of them permuted plus random
    repeats when ``m`` exceeds the set (the original ``FixLenSampler``)."""
    n = len(indices)
    if m <= n:
        picks = rng.choice(n, size=m, replace=False)
    else:
        picks = np.concatenate([rng.permutation(n), rng.integers(0, n, size=m - n)])
    return [int(indices[i]) for i in picks]


def individual_plan(indices: Sequence[int], batch_size: int, seed: int, epoch: int) -> list[Step]:
    """One shuffled pass with drop_last (individual training, and random co-training over the union)."""
    batches = shuffled_batches(indices, batch_size, epoch_rng(seed, epoch))
    if not batches:
        raise ValueError(f"{len(indices)} videos give no full batch of {batch_size}")
    return [Step("single", b) for b in batches]


def sync_plan(
    tad_only: Sequence[int],
    mr_only: Sequence[int],
    both: Sequence[int],
    batch_size: int,
    seed: int,
    epoch: int,
    task_ratio: tuple[int, int] = (1, 1),
    fill: str = "min",
) -> list[Step]:
    """Synchronised co-training: every step holds both tasks (see module docstring).

    ``fill="min"`` is the original: m = the smaller task-only set (per ratio unit), so the larger one is
    sub-sampled each epoch. ``"max"``: m = the larger one, the smaller set is repeated (FixLenSampler's
    permutation + random repeats), so every task-only video is seen each epoch."""
    r_tad, r_mr = task_ratio
    if r_tad < 1 or r_mr < 1:
        raise ValueError(f"task_ratio must be positive integers, got {task_ratio}")
    if fill not in ("min", "max"):
        raise ValueError(f"fill must be 'min' or 'max', got {fill!r}")
    rng = epoch_rng(seed, epoch)
    sizes = (len(tad_only) // r_tad, len(mr_only) // r_mr)
    m = min(sizes) if fill == "min" or 0 in sizes else max(-(-len(tad_only) // r_tad), -(-len(mr_only) // r_mr))
    tad = fix_len_sample(tad_only, m * r_tad, rng)
    mr = fix_len_sample(mr_only, m * r_mr, rng)
    n_t, n_m = batch_size * r_tad, batch_size * r_mr
    diff = [tad[k * n_t : (k + 1) * n_t] + mr[k * n_m : (k + 1) * n_m] for k in range(m // batch_size)]
    both_batches = shuffled_batches(both, batch_size, rng)
    kinds = np.array(["diff"] * len(diff) + ["both"] * len(both_batches))
    kinds = kinds[rng.permutation(len(kinds))]
    if len(kinds) == 0:
        raise ValueError(
            f"synchronised co-training has no step: m = {m} task-only pairs and {len(both)} videos with both tasks "
            f"for batch size {batch_size}"
        )
    it_diff, it_both = iter(diff), iter(both_batches)
    return [Step(str(k), next(it_diff) if k == "diff" else next(it_both)) for k in kinds]


class PlanSampler:
    """A ``batch_sampler`` for ``torch.utils.data.DataLoader`` over a plan function ``epoch → steps``.

    Call ``set_epoch(e)`` before each epoch (as with ``DistributedSampler``); ``len`` is the number of
    iterations of the current epoch (what the LR schedule needs).
    """

    def __init__(self, plan: Callable[[int], list[Step]], epoch: int = 0):
        self._plan, self.epoch = plan, epoch
        self._steps: list[Step] | None = None

    def set_epoch(self, epoch: int) -> None:
        if epoch != self.epoch:
            self.epoch, self._steps = epoch, None

    def steps(self) -> list[Step]:
        if self._steps is None:
            self._steps = self._plan(self.epoch)
        return self._steps

    def __iter__(self) -> Iterator[list[int]]:
        return (list(s.indices) for s in self.steps())

    def __len__(self) -> int:
        return len(self.steps())
