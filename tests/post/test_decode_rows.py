"""Batched decoding (``decode_rows``), the flat NMS of many videos (``nms_flat``) and the per-label cap, against
plain per-video statements of the same rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from unimd_lib.post import batched_nms, cap_per_label, nms_flat
from unimd_lib.post.decode import decode_rows

LEVELS = (8, 4, 2)
KW = dict(pre_nms_thresh=0.2, pre_nms_topk=5, duration_thresh=0.05)


def naive_decode(logits, offsets, points, mask, n_queries):
    """One row, one level after another, item by item: the spec's rule (§8.1) in plain Python."""
    out, start = [], 0
    for length in LEVELS:
        items = []
        for t in range(start, start + length):
            for k in range(n_queries):
                p = np.float32(1) / (np.float32(1) + np.exp(-logits[k, t])) * np.float32(mask[t])
                if p > KW["pre_nms_thresh"]:
                    items.append((-p, (t - start) * n_queries + k, t, k, p))
        for _, _, t, k, p in sorted(items)[: KW["pre_nms_topk"]]:  # score descending, then flat (t, k) order
            seg = (points[t, 0] - offsets[k, 0, t] * points[t, 3], points[t, 0] + offsets[k, 1, t] * points[t, 3])
            if seg[1] - seg[0] > KW["duration_thresh"]:
                out.append((seg, p, k))
        start += length
    return out


def random_rows(rng, rows=3, k=4):
    p = sum(LEVELS)
    logits = rng.standard_normal((rows, k, p)).astype(np.float32)
    logits[:, :, ::3] = 0.5  # equal scores: the flat order decides
    offsets = rng.uniform(0, 2, (rows, k, 2, p)).astype(np.float32)
    offsets[:, :, :, ::5] = 0.01  # too short: dropped by the duration filter
    stride = np.concatenate([np.full(n, 2.0**i) for i, n in enumerate(LEVELS)])
    t = np.concatenate([np.arange(n) * 2.0**i for i, n in enumerate(LEVELS)])
    points = np.stack([t, t * 0, t * 0 + 9, stride], axis=1).astype(np.float32)
    masks = np.concatenate([np.arange(n)[None] < [[n], [n // 2], [1]] for n in LEVELS], axis=1)
    n_queries = np.array([k, 2, 1])
    return logits, offsets, points, masks, np.arange(k)[None] < n_queries[:, None], n_queries


def test_decode_rows_equals_a_naive_per_row_decode():
    logits, offsets, points, masks, qmask, n_queries = random_rows(np.random.default_rng(0))
    c = decode_rows(np, logits, offsets, points, masks, qmask, LEVELS, **KW)
    assert np.all(np.diff(c.rows) >= 0)
    for r in range(3):
        want = naive_decode(logits[r], offsets[r], points, masks[r], n_queries[r])
        got = c.rows == r
        assert len(want) == got.sum() > 0
        np.testing.assert_array_equal(c.labels[got], [k for _, _, k in want])  # padded queries never appear
        np.testing.assert_array_equal(c.scores[got], np.float32([p for _, p, _ in want]))
        np.testing.assert_array_equal(c.segments[got], np.float32([s for s, _, _ in want]))


def test_decode_rows_on_a_stand_in_device_equals_numpy():
    from tests.eval.fake_device import FakeDevice

    dev = FakeDevice()
    args = random_rows(np.random.default_rng(1))[:5]
    want = decode_rows(np, *args, LEVELS, **KW)
    got = decode_rows(dev, *(dev.asarray(a) for a in args), LEVELS, **KW)
    for g, w in zip(got, want, strict=True):
        assert type(g).__name__ == "DeviceArray"  # never brought to the host on the way
        np.testing.assert_array_equal(np.asarray(g), w)


def _videos(rng, n=5):
    out = []
    for _ in range(n):
        m = int(rng.integers(0, 40))
        start = rng.uniform(0, 50, m)
        segs = np.stack([start, start + rng.uniform(0.5, 20, m)], axis=1).astype(np.float32)
        out.append((segs, rng.uniform(0, 1, m).astype(np.float32), rng.integers(0, 4, m)))
    return out


@pytest.mark.parametrize("multiclass", [True, False])
def test_nms_flat_equals_one_call_per_video(multiclass):
    videos = _videos(np.random.default_rng(2))
    kw = dict(iou_threshold=0.1, min_score=0.001, max_seg_num=6, multiclass=multiclass, sigma=0.5, backend="numpy")
    flat = [np.concatenate([v[i] for v in videos]) for i in range(3)]
    index = np.repeat(np.arange(len(videos)), [len(v[1]) for v in videos])
    kept = nms_flat(*flat, index, num_videos=len(videos), **kw)
    assert np.all(np.diff(kept.video) >= 0)
    for v, (segs, scores, labels) in enumerate(videos):
        want = batched_nms(segs, scores, labels, **kw, return_index=True)
        mine = kept.video == v
        for got, w in zip((kept.segments, kept.scores, kept.labels), want[:3], strict=True):
            np.testing.assert_array_equal(got[mine], w)
        np.testing.assert_array_equal(kept.source[mine] - (index < v).sum(), want[3])


def test_cap_per_label_keeps_the_first_of_every_video_and_label():
    rng = np.random.default_rng(3)
    video = np.sort(rng.integers(0, 4, 60))
    labels = rng.integers(0, 5, 60)
    want = (pd.DataFrame({"v": video, "l": labels}).groupby(["v", "l"]).cumcount() < 2).to_numpy()
    np.testing.assert_array_equal(cap_per_label(video, labels, 2), want)
    assert not cap_per_label(video, labels, 0).any()
    assert cap_per_label(np.zeros(0, np.int64), np.zeros(0, np.int64), 3).shape == (0,)
