"""One prediction path for any batch: ``predict_dataset`` batches videos, decodes and suppresses the whole batch at
once, and gives what one video at a time gives; the post-processing follows the model's device (DLPack handoff),
checked on the CPU with numpy and with the CuPy stand-in of the eval tests."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from tests.model.test_small_model import C_IN, K_TAD, T_MAX, E, _records
from unimd_lib.backend import array_module_for, from_torch
from unimd_lib.config.model import ModelConfig
from unimd_lib.data.collate import collate
from unimd_lib.model import inference
from unimd_lib.model.unimd import UniMD
from unimd_lib.post import nms_cpu
from unimd_lib.train.predict import predict_dataset, video_batches


class Videos(list):
    """Records shaped like the ``VideoDataset`` that ``predict_dataset`` reads."""

    def __init__(self, records):
        super().__init__(records)
        self.cfg = SimpleNamespace(max_seq_len=T_MAX)
        self.tad = self.mr = True


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = UniMD(ModelConfig.small(C_IN, K_TAD, T_MAX, channels=E))
    m.cfg.test_cfg.pre_nms_thresh = 0.3  # a random model: fewer candidates, so NMS selects
    return m.eval()


@pytest.fixture(scope="module")
def videos():
    recs = _records(1, lengths=(64, 45, 30, 80, 64), n_mr=(3, 2, 1, 2, 4))  # 80 > T_MAX: padded on its own
    recs.insert(2, SimpleNamespace(video_id="no tasks", tasks=(), length=20))  # carries nothing: skipped
    return Videos(recs)


def test_video_batches_keep_order_skip_taskless_and_isolate_long_videos(videos):
    batches = [[v.video_id for v in b] for b in video_batches(videos, 2)]
    assert batches == [["vid0", "vid1"], ["vid2"], ["vid3"], ["vid4"]]
    assert [[v.video_id for v in b] for b in video_batches(videos, 8)] == [["vid0", "vid1", "vid2"], ["vid3"], ["vid4"]]


def _one_at_a_time(model, videos) -> dict[str, pd.DataFrame]:
    parts = {"tad": [], "mr": []}
    with torch.no_grad():
        for v in (v for v in videos if v.tasks):
            one = model.predict(collate([v], max_seq_len=T_MAX, training=False))[0]
            for task, d in one.items():
                cols = {"t_start": d.segments[:, 0], "t_end": d.segments[:, 1], "score": d.scores, "id": d.labels}
                parts[task].append(pd.DataFrame({"video_id": v.video_id, **cols}))
    return {t: pd.concat(p, ignore_index=True) for t, p in parts.items()}


@pytest.mark.parametrize("batch_size", [1, 3])
def test_predict_dataset_equals_one_video_at_a_time(model, videos, batch_size):
    want = _one_at_a_time(model, videos)
    got = predict_dataset(model, videos, torch.device("cpu"), batch_size=batch_size, progress=False)
    for task, w in want.items():
        g = got[task].rename(columns={"label": "id", "query_index": "id"})[list(w.columns)]
        assert len(w) > 0 and set(g["video_id"]) == {"vid0", "vid1", "vid2", "vid3", "vid4"}
        assert (g[["video_id", "id"]].to_numpy() == w[["video_id", "id"]].to_numpy()).all()
        exact = batch_size == 1  # other batch sizes round float32 matrix products differently
        pd.testing.assert_frame_equal(g, w, check_dtype=False, check_exact=exact, rtol=1e-5, atol=1e-5, obj=task)


def test_from_torch_shares_cpu_memory_with_numpy():
    t = torch.zeros(3, 4)
    a = from_torch(t[:, 1:], np)
    t[0, 1] = 7.0
    assert isinstance(a, np.ndarray) and a[0, 0] == 7.0  # a view of the tensor: no copy
    assert from_torch(torch.tensor([True, False]), np).dtype == bool
    assert array_module_for(t) is np and array_module_for(t, "numpy") is np
    cuda_like = SimpleNamespace(device=SimpleNamespace(type="cuda"))
    assert array_module_for(cuda_like, "auto") is np  # no usable GPU here: numpy


def test_device_path_with_a_stand_in_equals_numpy(model, videos, monkeypatch):
    """Decoding and NMS on the CuPy stand-in (arrays that refuse host numpy operands) give numpy's detections."""
    from tests.eval.fake_device import FakeDevice, _plain, _wrap
    from unimd_lib.post import nms, nms_cuda

    dev = FakeDevice()
    batch = collate([v for v in videos if v.tasks][:3], max_seq_len=T_MAX, training=False)
    with torch.no_grad():
        out = model(batch)
    want = inference.flat_detections(out, batch, model.cfg.test_cfg, backend="numpy")

    def engine(*arrays, **params):  # the kernel's contract, computed by the numpy engine
        return tuple(_wrap(a) for a in nms_cpu.run_groups(*(_plain(a) for a in arrays), **params))

    monkeypatch.setattr(inference, "array_module_for", lambda tensor, backend: dev)
    monkeypatch.setattr(nms, "get_xp", lambda backend="auto": dev if backend == "cupy" else np)
    monkeypatch.setattr(nms_cuda, "run_groups", engine)
    for module in (nms, inference):  # bringing results to the host: cupy.asnumpy on a real device
        monkeypatch.setattr(module, "to_numpy", lambda a: np.array(_plain(a)))
    cands = inference.flat_candidates(out, model.cfg.test_cfg, dev)
    assert all(type(c.scores).__name__ == "DeviceArray" for c in cands.values())
    got = inference.flat_detections(out, batch, model.cfg.test_cfg, backend="cupy")
    assert got.keys() == want.keys() == {"tad", "mr"}
    for task in want:
        assert len(want[task].scores) > 0
        assert got[task].num_videos == want[task].num_videos == len(batch.video_ids)
        for g, w in zip(got[task][:5], want[task][:5], strict=True):
            assert type(g) is np.ndarray  # the kept detections come back to the host
            np.testing.assert_array_equal(g, w)


def test_bf16_prediction_is_an_option_not_the_default(model, videos):
    import inspect

    assert inspect.signature(predict_dataset).parameters["amp"].default == "none"
    f32 = predict_dataset(model, videos, torch.device("cpu"), progress=False)
    bf16 = predict_dataset(model, videos, torch.device("cpu"), amp="bf16", progress=False)
    for task, want in f32.items():
        got = bf16[task]
        assert list(got.columns) == list(want.columns) and len(got) > 0
        assert got["score"].dtype == np.float32 and got["score"].between(0, 1).all()
        assert not np.array_equal(got["score"].to_numpy(), want["score"].to_numpy())  # autocast did act
