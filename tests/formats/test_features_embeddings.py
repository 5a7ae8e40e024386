"""Feature and text-embedding readers (spec §6.1 steps 1-3, §6.5)."""

from __future__ import annotations

import numpy as np
import pytest

from unimd_lib.errors import DataError
from unimd_lib.formats.arrays import write_npy_atomic, write_npz_atomic
from unimd_lib.formats.embeddings import query_text_key, read_class_embeddings, read_query_embeddings
from unimd_lib.formats.features import Stream, read_feature_streams, read_features


def test_npy_and_npz_are_l2_normalised_per_step(tmp_path):
    x = np.array([[3.0, 4.0], [0.0, 2.0], [0.0, 0.0]], dtype=np.float64)
    write_npy_atomic(tmp_path / "a.npy", x)
    write_npz_atomic(tmp_path / "b.npz", {"features": x})
    for name in ("a.npy", "b.npz"):
        f = read_features(tmp_path / name, "vid", dim=2)
        assert f.dtype == np.float32
        np.testing.assert_allclose(f, [[0.6, 0.8], [0.0, 1.0], [0.0, 0.0]])  # an all-zero step stays zero


def test_two_streams_are_normalised_separately_truncated_and_concatenated(tmp_path):
    write_npy_atomic(tmp_path / "i3d.npy", np.full((5, 4), 2.0))
    write_npz_atomic(tmp_path / "clip.npz", {"features": np.full((3, 2), 5.0)})
    f = read_feature_streams([Stream(tmp_path / "i3d.npy", 4), Stream(tmp_path / "clip.npz", 2)], "vid")
    assert f.shape == (3, 6)
    np.testing.assert_allclose(f[:, :4], 0.5)  # each stream has unit norm on its own
    np.testing.assert_allclose(f[:, 4:], np.sqrt(0.5))


def test_class_embeddings_rows_transposed_and_average(tmp_path):
    e = np.array([[2.0, 0.0], [0.0, 3.0], [1.0, 1.0]])
    write_npz_atomic(tmp_path / "k.npz", {"features": e})
    write_npz_atomic(tmp_path / "t.npz", {"features": e.T})
    a = read_class_embeddings(tmp_path / "k.npz", num_classes=3, dim=2)
    b = read_class_embeddings(tmp_path / "t.npz", num_classes=3, dim=2, transposed=True)
    np.testing.assert_allclose(a, [[1, 0], [0, 1], [np.sqrt(0.5), np.sqrt(0.5)]], atol=1e-7)
    np.testing.assert_array_equal(a, b)
    # ANet: mean of the normalised rows, not re-normalised
    two = tmp_path / "two.npz"
    write_npz_atomic(two, {"features": np.array([[5.0, 0.0], [0.0, 0.5]])})
    avg = read_class_embeddings(two, num_classes=1, average=True)
    np.testing.assert_allclose(avg, [[0.5, 0.5]])
    assert np.linalg.norm(avg) == pytest.approx(np.sqrt(0.5))


def test_transposed_file_without_the_flag_gives_a_hint(tmp_path):
    write_npz_atomic(tmp_path / "t.npz", {"features": np.ones((6, 3))})  # [E=6, K=3]
    with pytest.raises(DataError, match=r"t\.npz: class embeddings: 6 rows != num_classes 3 .*transposed"):
        read_class_embeddings(tmp_path / "t.npz", num_classes=3)


def test_query_text_rules():
    assert query_text_key("what did i put in the sack?", "ego4d") == "what did i put in the sack?"
    assert query_text_key("what colour bowl did i carry from the plate stand.?", "ego4d") == (
        "what colour bowl did i carry from the plate stand?"
    )
    assert query_text_key(" The man then pulls.", "exact") == " The man then pulls."


def test_query_embeddings_are_checked_and_not_normalised_by_default(tmp_path):
    p = tmp_path / "v.npz"
    q = np.array([[3.0, 4.0], [1.0, 0.0]], dtype=np.float32)
    write_npz_atomic(p, {"features": q, "queries": np.array(["where is it?", "who came?"])})
    texts = ["where is it.?", "who came?"]
    np.testing.assert_array_equal(read_query_embeddings(p, "v", texts, rule="ego4d"), q)
    np.testing.assert_allclose(read_query_embeddings(p, "v", texts, rule="ego4d", normalise=True)[0], [0.6, 0.8])
    with pytest.raises(DataError, match=r"v\.npz: video v, query 0: stored query 'where is it\?' != annotation"):
        read_query_embeddings(p, "v", texts, rule="exact")


def test_npz_writes_are_byte_reproducible(tmp_path):
    arrays = {"features": np.eye(3, dtype=np.float32), "queries": np.array(["a", "bb"])}
    write_npz_atomic(tmp_path / "1.npz", arrays)
    write_npz_atomic(tmp_path / "2.npz", arrays)
    assert (tmp_path / "1.npz").read_bytes() == (tmp_path / "2.npz").read_bytes()
    with np.load(tmp_path / "1.npz") as z:
        assert z["queries"].tolist() == ["a", "bb"]
