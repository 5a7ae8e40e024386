"""Vectorised numpy engine: sequential soft-/hard-NMS run on many independent groups at once.

Groups are (video, class) pairs (or whole videos when class-agnostic). Soft-NMS is sequential within a
group, so the engine walks the selection steps ``i = 0, 1, ...`` once and, at every step, advances *all*
groups together on a padded ``[5, rows, width]`` float32 array (channels: start, end, score, position in
the group, length). Python overhead therefore scales with the longest group, not with the number of groups.

It reproduces the array semantics of the original C++ op exactly (see ``nms.py`` for the contract):
the first maximum in *current array order* is swapped into slot ``i``; every later item is decayed once;
an item that falls below ``min_score`` is replaced by the current last item (which is then examined in
turn). That removal rule is a hole/filler pairing, computed here per step for all rows at once: the
k-th removed slot (ascending) below the new length receives the k-th surviving item (descending) above it.
(A hole that receives an item was examined before the item moved, and the moved item is examined exactly
once either way, so each item is decayed once per step, as in the loop.)
"""

from __future__ import annotations

import numpy as np

F32 = np.float32
EPS_LEN = F32(1e-6)  # added to every length, as in the original op
NEG_INF = F32(-np.inf)
METHOD_VANILLA, METHOD_LINEAR, METHOD_GAUSSIAN, METHOD_HARD = 0, 1, 2, 3
MAX_GROUP = 1 << 24  # positions are carried as float32, exact below 2**24
_PAD_BUDGET = 1 << 16  # padded cells per chunk: big enough to amortise numpy calls, small enough for cache
_SMALL_AREA = 1 << 14  # below this, padding waste is cheaper than another chunk's per-step overhead
_X1, _X2, _SC, _POS, _LEN = 0, 1, 2, 3, 4  # channels; _LEN = (x2 - x1) + 1e-6, computed once


def decay_weight(ov: np.ndarray, method: int, iou_threshold: np.float32, sigma: np.float32) -> np.ndarray:
    """Soft-NMS weight for IoU ``ov`` (float32 in, float32 out).

    Gaussian: ``exp(-ov**2 / sigma)`` with the exponent formed in float32 and ``exp`` evaluated in float64
    then rounded once: the correctly rounded float32 value, computed the same way by the CUDA kernel
    (``(float)exp((double)x)``), so CPU and GPU agree to the bit. (Measured on 2e5 arguments: glibc's
    ``expf`` is one ulp off that in ~0.07% of cases, numpy's float32 ``exp`` in ~40%; either way the
    difference is ~1e-7 relative, far inside the 1e-5 tolerance.)
    """
    if method == METHOD_GAUSSIAN:
        return np.exp((ov * ov) / -sigma, dtype=np.float64).astype(F32)
    hit = ov >= iou_threshold
    if method == METHOD_LINEAR:
        return np.where(hit, F32(1) - ov, F32(1))
    if method == METHOD_VANILLA:
        return np.where(hit, F32(0), F32(1))
    raise ValueError(f"unknown soft-NMS method {method!r}; expected 0 (vanilla), 1 (linear) or 2 (Gaussian)")


def run_groups(
    x1: np.ndarray,
    x2: np.ndarray,
    sc: np.ndarray,
    starts: np.ndarray,
    sizes: np.ndarray,
    *,
    method: int,
    iou_threshold: float,
    sigma: float,
    min_score: float,
    max_keep: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Run NMS independently on every group of a grouped layout.

    Group ``g`` is ``x1/x2/sc[starts[g] : starts[g] + sizes[g]]`` in original input order.
    ``method`` 0/1/2 is soft-NMS (vanilla/linear/Gaussian); 3 is hard NMS (the caller has already
    dropped items with ``score <= min_score``; ties go to the earlier item, i.e. a stable sort).
    Returns ``(emit_item, emit_score)`` in the same layout: slot ``starts[g] + k`` holds the layout index
    of the group's k-th selected item (-1 after the last) and its (decayed) score.
    """
    total = len(sc)
    emit_item = np.full(total, -1, np.int64)
    emit_score = np.full(total, -np.inf, F32)
    if total == 0 or max_keep <= 0:
        return emit_item, emit_score
    if sizes.max() > MAX_GROUP:
        raise ValueError(f"a group holds {int(sizes.max())} items; at most {MAX_GROUP} are supported")
    params = (method, F32(iou_threshold), F32(sigma), F32(min_score), int(max_keep))
    with np.errstate(invalid="ignore"):  # -inf * 0 in free slots; entered once, it costs µs per call
        for gids in _chunks(sizes):
            _run_chunk(x1, x2, sc, starts, sizes, gids, params, emit_item, emit_score)
    return emit_item, emit_score


def _chunks(sizes: np.ndarray):
    """Group ids in chunks of similar size, longest first.

    A chunk grows while its padded area stays within the cell budget and either below twice the real
    item count or small anyway (then one more chunk would cost more in per-step overhead than padding).
    """
    order = np.argsort(-sizes, kind="stable")
    order = order[sizes[order] > 0]
    csum = np.cumsum(sizes[order])
    lo = 0
    while lo < len(order):
        width = int(sizes[order[lo]])
        end = min(len(order), lo + _PAD_BUDGET // width + 1)  # no chunk can reach further
        rows = np.arange(1, end - lo + 1)
        real = csum[lo:end] - (csum[lo - 1] if lo else 0)
        area = rows * width
        ok = (area <= _PAD_BUDGET) & ((area <= 2 * real) | (area <= _SMALL_AREA))
        take = max(1, int(np.argmin(ok)) if not ok.all() else len(ok))
        yield order[lo : lo + take]
        lo += take


def _run_chunk(x1, x2, sc, starts, sizes, gids, params, emit_item, emit_score) -> None:
    """Run one chunk; ``gids`` come longest first, so the rows still running at step i are a prefix."""
    method, thr, sigma, min_score, max_keep = params
    size0 = sizes[gids].astype(np.int64)
    n = size0.copy()
    rows, width = len(gids), int(size0[0])
    col = np.arange(width)
    valid = col < n[:, None]
    src = (starts[gids][:, None] + col)[valid]
    d = np.zeros((5, rows, width), F32)  # channel-major: each channel slice is a contiguous [rows, width]
    d[_SC] = -np.inf  # free slots always score -inf, so a plain argmax sees only live items
    for ch, arr in ((_X1, x1), (_X2, x2), (_SC, sc)):
        d[ch][valid] = arr[src]
    d[_POS] = col
    d[_LEN] = (d[_X2] - d[_X1]) + EPS_LEN
    steps = min(width, max_keep)
    out = np.full((2, rows, steps), -np.inf, F32)  # emitted (score, position) per step
    every_row = np.arange(rows)
    n_above = np.searchsorted(-size0, -np.arange(steps), side="left")  # rows with size0 > i

    for i in range(steps):
        live = int(n_above[i])
        hi = int(n[:live].max()) if live else 0
        if hi <= i:  # no row has an item left (lengths only shrink)
            break
        v = d[:, :live]
        r = every_row[:live]
        s = v[_SC, :, i:hi]
        if method == METHOD_HARD:  # highest score, then the earliest input item (stable order)
            j = np.where(s == s.max(axis=1, keepdims=True), v[_POS, :, i:hi], F32(np.inf)).argmin(axis=1)
        else:  # soft-NMS: the first maximum in current array order
            j = s.argmax(axis=1)
        picked = v[:, r, i + j]
        v[:, r, i + j] = v[:, :, i]
        v[:, :, i] = picked
        out[:, :live, i] = picked[_SC : _POS + 1]
        if hi > i + 1:
            keep = _decay(v, i, hi, method, thr, sigma, min_score)
            new_n = np.minimum(n[:live], i + 1 + keep.sum(axis=1))
            lost = np.flatnonzero(new_n != n[:live])
            if len(lost):
                _fill_holes(v, keep, lost, i + 1, new_n[lost])
                n[lost] = new_n[lost]

    rr, kk = np.nonzero(out[0] > -np.inf)  # a group's emissions are a prefix of its own slots
    base = starts[gids][rr]
    emit_score[base + kk] = out[0, rr, kk]
    emit_item[base + kk] = base + out[1, rr, kk].astype(np.int64)


def _decay(v, i, hi, method, thr, sigma, min_score) -> np.ndarray:
    """Decay (soft) or suppress (hard) slots ``i+1 .. hi-1`` against slot ``i``; returns the survivors mask."""
    ax1, ax2 = v[_X1, :, i, None], v[_X2, :, i, None]
    alen = v[_LEN, :, i, None]
    bx1, bx2 = v[_X1, :, i + 1 : hi], v[_X2, :, i + 1 : hi]
    inter = np.maximum(np.minimum(ax2, bx2) - np.maximum(ax1, bx1), F32(0))
    ov = inter / ((alen + v[_LEN, :, i + 1 : hi]) - inter)
    s = v[_SC, :, i + 1 : hi]
    if method == METHOD_HARD:
        keep = (ov < thr) & (s > -np.inf)
        s[~keep] = -np.inf
        return keep
    new = s * decay_weight(ov, method, thr, sigma)  # free slots: -inf * w, or nan for w = 0: removed below
    keep = new >= min_score
    v[_SC, :, i + 1 : hi] = np.where(keep, new, NEG_INF)
    return keep


def _fill_holes(v, keep, rows, lo, new_n) -> None:
    """Removal rule on slots ``lo..`` of ``rows``: holes below ``new_n`` take survivors from above, last first."""
    keep = keep[rows]
    below = np.arange(lo, lo + keep.shape[1]) < new_n[:, None]
    hr, hc = np.nonzero(~keep & below)  # row-major: per row, holes ascending
    fr, fc_rev = np.nonzero((keep & ~below)[:, ::-1])  # per row, survivors above the new end, descending
    if len(hr) == 0:
        return
    hr, fr, fc = rows[hr], rows[fr], lo + keep.shape[1] - 1 - fc_rev
    v[:, hr, lo + hc] = v[:, fr, fc]
    v[_SC, fr, fc] = -np.inf


def seg_voting(kept: np.ndarray, all_segs: np.ndarray, all_scores: np.ndarray, voting_thresh: float) -> np.ndarray:
    """Refine kept segments ``[K, 2]`` as the IoU-and-score weighted mean of all input segments ``[N, 2]``.

    IoU here has no ``+1e-6`` and uses every input segment, including those below ``min_score``.
    Weights ``[iou >= thr] * score * iou`` are float32 as in the original; the normalised weighted
    sum is accumulated in float64 and rounded to float32 (differs from a float32 matmul by ~1 ulp).
    """
    out = np.empty_like(kept, dtype=F32)
    thr = F32(voting_thresh)
    a0, a1 = all_segs[None, :, 0], all_segs[None, :, 1]
    alen = a1 - a0
    step = max(1, (1 << 22) // max(1, len(all_scores)))  # bound the K x N temporaries
    with np.errstate(invalid="ignore", divide="ignore"):  # zero-length segments give nan, as in the original
        for lo in range(0, len(kept), step):
            k = kept[lo : lo + step]
            k0, k1 = k[:, 0:1], k[:, 1:2]
            inter = np.maximum(np.minimum(k1, a1) - np.maximum(k0, a0), F32(0))
            iou = inter / (((k1 - k0) + alen) - inter)
            w = ((iou >= thr).astype(F32) * all_scores[None, :] * iou).astype(np.float64)
            w /= w.sum(axis=1, keepdims=True)
            out[lo : lo + step] = w @ all_segs.astype(np.float64)
    return out
