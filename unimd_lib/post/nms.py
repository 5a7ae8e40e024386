"""Batched 1-D NMS with the original UniMD semantics, compiler-free: numpy on CPU, a CuPy kernel on GPU.

Semantics (METRICS.md §6; segments in feature-grid units, all arithmetic float32):

* ``multiclass=True``: NMS runs per class (classes ascending), each class capped at ``max_seg_num``;
  voting is never applied. ``multiclass=False``: one NMS over all items, then segment voting when
  ``voting_thresh > 0``.
* Soft-NMS (Gaussian, the UniMD default): repeatedly emit the highest remaining score (the first maximum
  in current array order), decay every later item by ``exp(-iou**2 / sigma)`` and drop it when its score
  falls below ``min_score`` by moving the last item into its slot. The emitted item itself is never
  checked against ``min_score``, so soft-NMS keeps at least one item per class. Lengths get ``+1e-6``.
* Hard NMS: keep ``score > min_score`` (when ``min_score > 0``), then greedy by descending score,
  suppressing ``iou >= iou_threshold``.
* Voting (class-agnostic only): each kept segment becomes the mean of all the video's input segments
  (including those below ``min_score``) weighted by ``[iou >= voting_thresh] * score * iou``, with IoU
  taken without the ``+1e-6``; scores are unchanged.
* Finally each video's items are sorted by score descending and capped at ``max_seg_num``.

Order among exactly equal scores, which the original leaves to ``torch.sort``, is made deterministic
here: every sort is stable, so ties keep class order (ascending label), then emission order; hard NMS
breaks ties by input order. Results are therefore identical on the numpy and CuPy paths.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from unimd_lib.backend import get_xp, to_numpy
from unimd_lib.errors import DataError
from unimd_lib.post import nms_cpu
from unimd_lib.post.order import group_score_key, rank_in_group, stable_argsort

F32 = np.float32
Result = tuple[np.ndarray, ...]  # (segs f32 [K, 2], scores f32 [K], labels i64 [K][, source index i64 [K]])
Engine = Callable[..., tuple[Any, Any]]  # nms_cpu.run_groups signature, on the engine's array module


def batched_nms(
    segs: Any,
    scores: Any,
    labels: Any,
    *,
    iou_threshold: float,
    min_score: float,
    max_seg_num: int,
    use_soft_nms: bool = True,
    multiclass: bool = True,
    sigma: float = 0.5,
    voting_thresh: float = 0.75,
    backend: str = "auto",
    return_index: bool = False,
) -> Result:
    """NMS for one video. Inputs: segs ``[N, 2]``, scores ``[N]``, integer labels ``[N]`` (numpy, torch or CuPy).

    Returns numpy ``(segs float32 [K, 2], scores float32 [K], labels int64 [K])``, sorted by score
    descending; with ``return_index=True`` also the input row of each kept item (int64 [K]).
    ``backend``: "numpy", "cupy", or "auto" (CuPy when a CUDA device is usable, else numpy). Inputs are
    cast to float32 / int64; bad input raises ``DataError`` (a ``ValueError``).
    """
    return batched_nms_flat(
        segs,
        scores,
        labels,
        None,
        num_videos=1,
        iou_threshold=iou_threshold,
        min_score=min_score,
        max_seg_num=max_seg_num,
        use_soft_nms=use_soft_nms,
        multiclass=multiclass,
        sigma=sigma,
        voting_thresh=voting_thresh,
        backend=backend,
        return_index=return_index,
    )[0]


def batched_nms_videos(videos: Sequence[tuple[Any, Any, Any]], **kwargs: Any) -> list[Result]:
    """``batched_nms`` over many videos in one pass; ``videos`` is a sequence of ``(segs, scores, labels)``.

    Keyword arguments are those of ``batched_nms``. Each result equals ``batched_nms`` on that video alone;
    ``return_index`` gives rows of that video's own input. Inputs are gathered on the host; to keep data on
    the GPU, pass flat device arrays to ``batched_nms_flat`` instead.
    """
    if not videos:
        return []
    parts = []
    for k, (segs, scores, labels) in enumerate(videos):  # host-side concatenation; checked per video
        try:
            parts.append(_validated(np, segs, scores, labels, None, 1)[:3])
        except DataError as err:
            raise DataError(None, f"video {k}: {err.item}", err.message) from None
    lengths = [len(p[1]) for p in parts]
    segs, scores, labels = (np.concatenate([p[i] for p in parts]) for i in range(3))
    video_index = np.repeat(np.arange(len(parts)), lengths)
    out = batched_nms_flat(segs, scores, labels, video_index, num_videos=len(parts), **kwargs)
    if kwargs.get("return_index"):
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        out = [(*r[:3], r[3] - offsets[k]) for k, r in enumerate(out)]
    return out


class FlatKept(NamedTuple):
    """NMS results of many videos, flat numpy: segments [K, 2] float32, scores [K] float32, labels [K] int64,
    video [K] int64 (ascending; within a video by score descending), the input row of each item, and the
    number of videos (those with nothing kept included)."""

    segments: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    video: np.ndarray
    source: np.ndarray
    num_videos: int

    def select(self, keep: np.ndarray) -> FlatKept:
        """The items where ``keep`` (a mask or indices), of the same videos."""
        return FlatKept(*(a[keep] for a in self[:5]), self.num_videos)

    def split(self, *, with_source: bool = False) -> list[Result]:
        """One ``batched_nms`` result per video."""
        cols = [self.segments, self.scores, self.labels] + ([self.source] if with_source else [])
        return split_by_video(self.video, self.num_videos, *cols)


def split_by_video(video: np.ndarray, num_videos: int, *columns: np.ndarray) -> list[tuple[np.ndarray, ...]]:
    """Rows of ``columns`` grouped by ``video`` (ascending), one tuple per video in ``range(num_videos)``."""
    bounds = np.cumsum(np.bincount(video, minlength=num_videos))[:-1]
    parts = [np.split(c, bounds) for c in columns]
    return [tuple(p[k] for p in parts) for k in range(num_videos)]


def batched_nms_flat(
    segs: Any, scores: Any, labels: Any, video_index: Any | None, *, return_index: bool = False, **kwargs: Any
) -> list[Result]:
    """``batched_nms`` over items of many videos given as flat arrays plus ``video_index`` (None: one video).

    Keyword arguments are those of ``nms_flat``. Returns one result per video, ``num_videos`` of them
    (default ``max(video_index) + 1``).
    """
    return nms_flat(segs, scores, labels, video_index, **kwargs).split(with_source=return_index)


def nms_flat(
    segs: Any,
    scores: Any,
    labels: Any,
    video_index: Any | None,
    *,
    num_videos: int | None = None,
    iou_threshold: float,
    min_score: float,
    max_seg_num: int,
    use_soft_nms: bool = True,
    multiclass: bool = True,
    sigma: float = 0.5,
    voting_thresh: float = 0.75,
    backend: str = "auto",
    engine: Engine | None = None,
) -> FlatKept:
    """``batched_nms`` of every video at once, on flat arrays (numpy, torch or CuPy; CuPy input stays on the
    device until the kept items are gathered). Returns the kept items of all videos, flat, on the host.

    On the CuPy backend all videos x classes run in a single kernel launch. ``engine`` overrides the
    per-group NMS engine (used by tests to run the CUDA kernel source compiled for the CPU).
    """
    xp = get_xp(backend)
    if engine is None:
        if xp is np:
            engine = nms_cpu.run_groups
        else:
            from unimd_lib.post import nms_cuda  # only imported when a GPU is in use

            engine = nms_cuda.run_groups
    _check_params(iou_threshold, min_score, max_seg_num, use_soft_nms, sigma, voting_thresh)
    segs, scores, labels, vid, num_videos = _validated(xp, segs, scores, labels, video_index, num_videos)
    method = nms_cpu.METHOD_GAUSSIAN if use_soft_nms else nms_cpu.METHOD_HARD
    params = dict(method=method, iou_threshold=iou_threshold, sigma=sigma, min_score=min_score, max_keep=max_seg_num)
    src, score = _select(xp, engine, segs, scores, labels, vid, multiclass, params)
    src, score = _final_order(xp, src, score, vid, num_videos, int(max_seg_num))
    out_segs, out_labels, vid_kept = to_numpy(segs[src]), to_numpy(labels[src]), to_numpy(vid[src])  # on the device
    src, score = to_numpy(src), to_numpy(score)
    if not multiclass and voting_thresh > 0 and len(src):
        out_segs = _vote_per_video(out_segs, vid_kept, to_numpy(segs), to_numpy(scores), to_numpy(vid), voting_thresh)
    return FlatKept(
        out_segs.reshape(-1, 2).astype(F32, copy=False), score.astype(F32), out_labels.astype(np.int64),
        vid_kept.astype(np.int64), src.astype(np.int64), num_videos,
    )  # fmt: skip


def cap_per_label(video: np.ndarray, labels: np.ndarray, cap: int) -> np.ndarray:
    """Mask keeping the first ``cap`` items of every (video, label) in the given order (the NMS output is
    sorted by score within a video: its top ``cap`` per label; quirk §11.8 switched off)."""
    key = video.astype(np.int64) * (int(labels.max(initial=0)) + 1) + labels
    order = np.argsort(key, kind="stable")
    rank = np.empty(len(key), np.int64)
    rank[order] = rank_in_group(np, key[order])
    return rank < int(cap)


def soft_nms(
    segs: Any, scores: Any, *, iou_threshold: float, sigma: float, min_score: float, method: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """The soft-NMS op on one group: returns (input indices in emission order, dets ``[K, 3]`` = start, end, score).

    ``method``: 0 vanilla (zero the score when ``iou >= iou_threshold``), 1 linear (``* (1 - iou)`` when
    ``iou >= iou_threshold``), 2 Gaussian (``* exp(-iou**2 / sigma)`` always). Nothing is capped.
    """
    if method not in (0, 1, 2):
        raise ValueError(f"unknown soft-NMS method {method!r}; expected 0 (vanilla), 1 (linear) or 2 (Gaussian)")
    segs, scores, _, _, _ = _validated(np, segs, scores, None, None, 1)
    n = len(scores)
    starts, sizes = np.zeros(min(n, 1), np.int64), np.full(min(n, 1), n, np.int64)
    item, sc = nms_cpu.run_groups(
        segs[:, 0].copy(), segs[:, 1].copy(), scores, starts, sizes, method=method,
        iou_threshold=iou_threshold, sigma=sigma, min_score=min_score, max_keep=n,
    )  # fmt: skip
    k = int((item >= 0).sum())
    inds = item[:k]
    return inds, np.concatenate([segs[inds], sc[:k, None]], axis=1).astype(F32)


def hard_nms(segs: Any, scores: Any, *, iou_threshold: float, min_score: float = 0.0) -> np.ndarray:
    """The hard-NMS op on one group: input indices of the kept items, by descending score (ties: input order)."""
    segs, scores, _, _, _ = _validated(np, segs, scores, None, None, 1)
    cand = np.flatnonzero(scores > F32(min_score)) if min_score > 0 else np.arange(len(scores))
    n = len(cand)
    starts, sizes = np.zeros(min(n, 1), np.int64), np.full(min(n, 1), n, np.int64)
    item, _ = nms_cpu.run_groups(
        segs[cand, 0], segs[cand, 1], scores[cand], starts, sizes, method=nms_cpu.METHOD_HARD,
        iou_threshold=iou_threshold, sigma=1.0, min_score=min_score, max_keep=n,
    )  # fmt: skip
    return cand[item[item >= 0]].astype(np.int64)


def _select(xp, engine, segs, scores, labels, vid, multiclass, params):
    """Group items by (video[, class]), run the engine, return (input rows, scores) group-major in emission order."""
    cand = xp.arange(len(scores))
    if params["method"] == nms_cpu.METHOD_HARD and params["min_score"] > 0:
        cand = xp.flatnonzero(scores > F32(params["min_score"]))
    m = len(cand)
    if m == 0:
        return cand, scores[cand]
    key = vid[cand]
    if multiclass:
        lab = labels[cand]
        lo, hi = int(lab.min()), int(lab.max())
        if (hi - lo + 1) * (int(key.max()) + 1) < 2**62:  # one sort on a packed (video, class) key
            key = key * (hi - lo + 1) + (lab - lo)
        else:
            cand = cand[stable_argsort(xp, lab)]
            key = vid[cand]
    order = cand[stable_argsort(xp, key)]  # (video, class, input row) ascending
    gv, gl = vid[order], labels[order]
    change = gv[1:] != gv[:-1]
    if multiclass:
        change |= gl[1:] != gl[:-1]
    starts = xp.concatenate([xp.zeros(1, np.int64), xp.flatnonzero(change) + 1])
    sizes = xp.diff(xp.concatenate([starts, xp.full(1, m, np.int64)]))
    emit_item, emit_score = engine(segs[order, 0], segs[order, 1], scores[order], starts, sizes, **params)
    slot = xp.flatnonzero(emit_item >= 0)  # ascending slot = group-major, then emission order
    return order[emit_item[slot]], emit_score[slot]


def _final_order(xp, src, score, vid, num_videos, max_seg_num):
    """Per video: stable sort by score descending, keep the first ``max_seg_num``."""
    perm = stable_argsort(xp, group_score_key(xp, vid[src], score))
    src, score = src[perm], score[perm]
    keep = rank_in_group(xp, vid[src]) < max_seg_num
    return src[keep], score[keep]


def _vote_per_video(out_segs, vid_kept, segs, scores, vid, voting_thresh):
    """Segment voting of each video's kept items against that video's full input (host side, numpy)."""
    order = np.argsort(vid, kind="stable")
    bounds = np.searchsorted(vid[order], np.arange(vid.max() + 2))
    out = out_segs.copy()
    for v in np.unique(vid_kept):
        rows = np.flatnonzero(vid_kept == v)
        members = order[bounds[v] : bounds[v + 1]]
        out[rows] = nms_cpu.seg_voting(out_segs[rows], segs[members], scores[members], voting_thresh)
    return out


def _check_params(iou_threshold, min_score, max_seg_num, use_soft_nms, sigma, voting_thresh) -> None:
    for name, value in (("iou_threshold", iou_threshold), ("min_score", min_score), ("voting_thresh", voting_thresh)):
        if not np.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
    if int(max_seg_num) != max_seg_num or max_seg_num < 0:
        raise ValueError(f"max_seg_num must be a non-negative integer, got {max_seg_num!r}")
    if use_soft_nms and not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a positive finite number for soft-NMS, got {sigma!r}")


def _on(xp, x):
    """``x`` as an array of ``xp``; CUDA torch tensors go to CuPy without a host round trip."""
    if xp is np:
        return to_numpy(x)
    if isinstance(x, xp.ndarray):
        return x
    if getattr(x, "is_cuda", False):
        return xp.asarray(x.detach())  # __cuda_array_interface__, zero-copy
    return xp.asarray(to_numpy(x))


def _validated(xp, segs, scores, labels, video_index, num_videos):
    """Checked float32 segs ``[N, 2]``, float32 scores, int64 labels and video index, and the video count."""
    segs, scores = _on(xp, segs), _on(xp, scores)
    if scores.ndim != 1:
        raise DataError(None, "scores", f"must be 1-D [N], got shape {tuple(scores.shape)}")
    n = scores.shape[0]
    if segs.size == 0 and n == 0:
        segs = segs.reshape(0, 2)
    if segs.ndim != 2 or segs.shape[1] != 2:
        raise DataError(None, "segs", f"must have shape [N, 2], got {tuple(segs.shape)}")
    if segs.shape[0] != n:
        raise DataError(None, "segs", f"{segs.shape[0]} segments but {n} scores")
    segs, scores = segs.astype(F32, copy=False), scores.astype(F32, copy=False)
    if n and not bool(xp.isfinite(scores).all()):
        raise DataError(None, "scores", "contain NaN or infinite values")
    if n and not bool(xp.isfinite(segs).all()):
        raise DataError(None, "segs", "contain NaN or infinite values")
    if n and bool((segs[:, 1] < segs[:, 0]).any()):
        raise DataError(None, "segs", "every segment needs start <= end")
    labels = _int_array(xp, labels, n, "labels")
    if video_index is None:
        vid = xp.zeros(n, np.int64)
        num_videos = 1 if num_videos is None else num_videos
    else:
        vid = _int_array(xp, video_index, n, "video_index")
        top = int(vid.max()) + 1 if n else 0
        num_videos = top if num_videos is None else int(num_videos)
        if n and (int(vid.min()) < 0 or top > num_videos):
            raise DataError(None, "video_index", f"values must lie in [0, {num_videos})")
    return segs, scores, labels, vid, num_videos


def _int_array(xp, x, n, name):
    if x is None:
        return xp.zeros(n, np.int64)
    a = _on(xp, x)
    if a.ndim != 1 or a.shape[0] != n:
        raise DataError(None, name, f"must be 1-D with {n} entries (one per segment), got shape {tuple(a.shape)}")
    if a.dtype.kind == "f":
        if n and not bool((xp.isfinite(a) & (a == xp.round(a))).all()):
            raise DataError(None, name, "must hold integers")
    elif a.dtype.kind not in "iu" and n:
        raise DataError(None, name, f"must hold integers, got dtype {a.dtype}")
    return a.astype(np.int64, copy=False)
