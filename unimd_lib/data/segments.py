"""Per-video annotation records in seconds, the segment checks every adapter applies, and the issue log.

Policy (one place, so all benchmarks behave alike):
* reversed [start > end]: MR adapters swap (the original does, spec §6.2-6.4); TAD raises DataError.
* zero length: ``keep`` (Ego4D MQ/NLQ keep them, spec §4.1/§6.6; they can never be positive and the crop
  drops them), ``drop`` (ANet: the de-duplication rule removes events shorter than 1e-3 s) or ``error``.
* outside [0, duration]: clipped (``clip=True``) or kept as the original does (``clip=False``); either way
  counted and reported once per dataset with examples — never silently.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from unimd_lib.errors import DataError

DUP_TOL = 1e-3  # seconds; ActivityNet / Ego4D evaluators' duplicate and minimum-length tolerance (spec §9.1)


@dataclass
class VideoAnnotation:
    """One video of one task, times in seconds. ``segments`` [G, 2], ``labels`` [G] (TAD class id or MR query
    position); ``texts`` the MR queries (empty for TAD); ``meta`` per-query lists (MR)."""

    video_id: str
    duration: float
    fps: float | None
    segments: np.ndarray
    labels: np.ndarray
    texts: list[str] = field(default_factory=list)
    meta: dict[str, list] = field(default_factory=dict)


@dataclass
class TaskAnnotations:
    """One task of one split: ``videos`` keyed by (prefixed) video id, ``class_names`` for TAD."""

    task: str
    path: str
    split: str
    videos: dict[str, VideoAnnotation]
    class_names: list[str] | None = None


class IssueLog:
    """Counts of tolerated data problems with a few examples each; reported once per dataset."""

    MAX_EXAMPLES = 3

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, list[str]] = defaultdict(list)

    def add(self, kind: str, example: str) -> None:
        self.counts[kind] += 1
        if len(self.examples[kind]) < self.MAX_EXAMPLES:
            self.examples[kind].append(example)

    def summary(self) -> str:
        return "; ".join(
            f"{kind}: {n} (e.g. {' | '.join(self.examples[kind])})" for kind, n in sorted(self.counts.items())
        )

    def report(self, logger: logging.Logger, name: str) -> None:
        if self.counts:
            logger.warning("%s: tolerated annotation issues — %s", name, self.summary())


def check_duration(path: str, vid: str, duration: float) -> float:
    if not np.isfinite(duration) or duration <= 0:
        raise DataError(path, f"video {vid}", f"duration must be a positive number of seconds, got {duration}")
    return float(duration)


def sanitise_segments(
    path: str,
    vid: str,
    segments: np.ndarray,
    duration: float,
    log: IssueLog,
    *,
    swap_reversed: bool,
    zero_length: str,
    clip: bool,
    names: list[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Apply the policy above to [G, 2] seconds; returns (segments, keep mask) — dropped rows are masked."""
    segs = np.array(segments, dtype=np.float64).reshape(-1, 2)
    keep = np.ones(len(segs), dtype=bool)
    for i, (s, e) in enumerate(segs):
        item = f"video {vid}, {names[i] if names else f'annotation {i}'}"
        if not (np.isfinite(s) and np.isfinite(e)):
            raise DataError(path, item, f"segment [{s}, {e}] is not finite")
        if s > e:
            if not swap_reversed:
                raise DataError(path, item, f"segment start {s} > end {e}")
            segs[i] = (e, s)
            log.add("reversed segments swapped", f"{item} [{s}, {e}]")
            s, e = e, s
        if e - s <= 0:
            if zero_length == "error":
                raise DataError(path, item, f"zero-length segment [{s}, {e}]")
            if zero_length == "drop":
                keep[i] = False
                log.add("zero-length segments dropped", f"{item} at {s}")
                continue
            log.add("zero-length segments kept (never positive)", f"{item} at {s}")
        if s < 0 or e > duration:
            verb = "clipped to" if clip else "kept outside"
            log.add(f"segments {verb} [0, duration]", f"{item} [{s}, {e}] vs {duration}")
            if clip:
                segs[i] = (min(max(s, 0.0), duration), min(max(e, 0.0), duration))
    return segs, keep


def dedup_mask(segments: np.ndarray, labels: np.ndarray, tol: float = DUP_TOL) -> np.ndarray:
    """Keep mask that removes events shorter than ``tol`` and repeats of an earlier kept event (same label,
    both boundaries within ``tol``), in file order — the ActivityNet rule (spec §6.4, §9.1)."""
    keep = np.zeros(len(segments), dtype=bool)
    kept: list[int] = []
    for i, ((s, e), lab) in enumerate(zip(segments, labels)):
        if e - s < tol:
            continue
        if any(labels[j] == lab and abs(segments[j, 0] - s) <= tol and abs(segments[j, 1] - e) <= tol for j in kept):
            continue
        keep[i] = True
        kept.append(i)
    return keep
