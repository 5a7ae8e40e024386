"""Bad input: every error is a DataError whose message names the file and the item (video / query / row)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.data.builders import E, K, ego4d_bench, features, mq, nlq, query_npz, video, write_json
from unimd_lib.config.data import DataConfig
from unimd_lib.data.dataset import VideoDataset
from unimd_lib.errors import DataError
from unimd_lib.formats.arrays import write_npy_atomic, write_npz_atomic

TAD = {"a": video("training", 16.0, [mq(1.0, 4.0, 2)]), "b": video("training", 16.0, [mq(2.0, 3.0, 0)])}
MR = {"a": video("training", 16.0, [nlq(1.0, 2.0, "when did i sit?"), nlq(3.0, 5.0, "where is it?", idx=1)])}


def raises(fn, path: str, item: str, message: str) -> DataError:
    """``fn()`` raises DataError whose text is ``<...path>: <item>: <...message...>``."""
    with pytest.raises(DataError) as info:
        fn()
    text = str(info.value)
    assert re.search(rf"{re.escape(path)}: {re.escape(item)}: .*{message}", text), text
    return info.value


def build(tmp_path, tad=TAD, mr=MR, tasks="all", **data):
    cfg = ego4d_bench(tmp_path, tad, mr, **data)
    return lambda: VideoDataset(cfg, "training", tasks)


def record(tmp_path, vid="a", tad=TAD, mr=MR, **data):
    cfg = ego4d_bench(tmp_path, tad, mr, **data)
    return lambda: VideoDataset(cfg, "training", "all").record(vid)


# ---- feature files ------------------------------------------------------------------------------------------
def test_missing_feature_file(tmp_path):
    cfg = ego4d_bench(tmp_path, TAD, MR)
    (tmp_path / "feats" / "b.npy").unlink()
    raises(lambda: VideoDataset(cfg, "training"), "feats/b.npy", "video b", "file not found")


def test_wrong_feature_dimension(tmp_path):
    fn = record(tmp_path)
    features(tmp_path, "a", 30, dim=5)
    raises(fn, "feats/a.npy", "video a", "feature dimension 5 != expected 8")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_features(tmp_path, bad):
    fn = record(tmp_path)
    x = np.ones((30, 8), np.float32)
    x[7, 3] = bad
    write_npy_atomic(tmp_path / "feats" / "a.npy", x)
    raises(fn, "feats/a.npy", "video a", "non-finite value .* at time step 7")


def test_one_dimensional_features(tmp_path):
    fn = record(tmp_path)
    write_npy_atomic(tmp_path / "feats" / "a.npy", np.ones(30, np.float32))
    raises(fn, "feats/a.npy", "video a", r"must be 2-D \[T, C\]")


def test_npz_without_the_features_key(tmp_path):
    fn = record(tmp_path, feat_pattern="{video_id}.npz")
    for vid in ("a", "b"):
        write_npz_atomic(tmp_path / "feats" / f"{vid}.npz", {"feats": np.ones((30, 8), np.float32)})
    raises(fn, "feats/a.npz", "video a", r"npz has no key 'features' \(keys: \['feats'\]\)")


def test_corrupt_feature_file(tmp_path):
    fn = record(tmp_path)
    (tmp_path / "feats" / "a.npy").write_bytes(b"not an array")
    raises(fn, "feats/a.npy", "video a", "not a .npy file")


# ---- annotation files ---------------------------------------------------------------------------------------
def test_tad_start_after_end(tmp_path):
    raises(build(tmp_path, tad={"a": video("training", 16.0, [mq(5.0, 4.0, 1)])}), "tad.json",
           "video a, annotation 0", "segment start 5.0 > end 4.0")  # fmt: skip


def test_mr_reversed_pair_is_swapped_and_counted(tmp_path):
    mr = {"a": video("training", 16.0, [nlq(5.0, 1.0, "when did i sit?")])}
    ds = build(tmp_path, tad=None, mr=mr)()
    assert ds.issues.counts["reversed segments swapped"] == 1
    np.testing.assert_allclose(ds.record("a").mr.segments, [[1.375, 8.875]])


def test_zero_length_segment_where_the_original_does_not_keep_them(tmp_path):
    write_json(tmp_path / "sta.json", {"database": {"v1": {"duration": 9.0, "annotations": [
        {"segment": [2.0, 2.0], "label": "person sits."}]}}})  # fmt: skip
    d = {"adapter": "charades", "feat_folder": "feats", "input_dim": 8, "feat_stride": 4, "num_frames": 16,
         "default_fps": 24, "max_seq_len": 64,
         "mr": {"annotations": "sta.json", "embedding_folder": "mr_emb"}}  # fmt: skip
    cfg = DataConfig.from_dict(d, tmp_path / "c.yaml", base_dir=tmp_path)
    raises(
        lambda: VideoDataset(cfg, "Train", "mr"), "sta.json", "video v1, query 0", r"zero-length segment \[2.0, 2.0\]"
    )
    # the switch: keep them as the original does (flagged, never positive)
    keep = DataConfig.from_dict({**d, "zero_length": "keep"}, tmp_path / "c.yaml", base_dir=tmp_path)
    ds = VideoDataset(keep, "Train", "mr", check_files=False)
    assert ds.mr.videos["v1"].meta["zero_length"] == [True]
    assert ds.issues.counts["zero-length segments kept (never positive)"] == 1


@pytest.mark.parametrize("label, message", [(3, "unknown label_id 3 \\(num_classes 3\\)"), (-1, "unknown label_id -1"),
                                            ("x", "label_id must be an integer")])  # fmt: skip
def test_bad_label_id(tmp_path, label, message):
    tad = {"a": video("training", 16.0, [mq(1.0, 2.0, 0), {"label": "z", "segment": [3.0, 4.0], "label_id": label}])}
    raises(build(tmp_path, tad=tad, mr=None), "tad.json", "video a, annotation 1", message)


def test_missing_label_id(tmp_path):
    tad = {"a": video("training", 16.0, [{"label": "z", "segment": [3.0, 4.0]}])}
    raises(build(tmp_path, tad=tad, mr=None), "tad.json", "video a, annotation 0", "lacks 'label_id'")


def test_one_label_id_with_two_names(tmp_path):
    tad = {"a": video("training", 16.0, [mq(1.0, 2.0, 1, "sit"), mq(3.0, 4.0, 1, "stand")])}
    raises(build(tmp_path, tad=tad, mr=None), "tad.json", "video a, annotation 1", "label_id 1 named 'stand' and 'sit'")


def test_missing_segment_key_in_json(tmp_path):
    tad = {"a": video("training", 16.0, [{"label": "z", "segmnt": [3.0, 4.0], "label_id": 0}])}
    mr = {"a": video("training", 16.0, [nlq(1.0, 2.0, "q?"), {"query": "r?", "annotation_uid": "u"}])}
    raises(build(tmp_path, tad=None, mr=mr), "mr.json", "video a, query 1", "without 'segment' among queries")
    # a TAD annotation without a segment cannot be placed on the grid either
    raises(build(tmp_path, tad=tad, mr=None), "tad.json", "video a, annotation 0", "segment .*not finite")


def test_query_without_text(tmp_path):
    mr = {"a": video("training", 16.0, [nlq(1.0, 2.0, "q?"), {"segment": [1.0, 2.0], "annotation_uid": "u"}])}
    raises(build(tmp_path, tad=None, mr=mr, write_files=False), "mr.json", "video a, query 1", "lacks the sentence")


def test_bad_duration(tmp_path):
    tad = {"a": video("training", 0.0, [])}
    raises(build(tmp_path, tad=tad, mr=None, write_files=False), "tad.json", "video a", "duration must be a positive")


def test_no_fps_anywhere(tmp_path):
    tad = {"a": video("training", 16.0, [mq(1.0, 2.0, 0)], fps=None)}
    raises(record(tmp_path, tad=tad, mr=None), "tad.json", "video a", "no fps in the annotation file")


def test_empty_split(tmp_path):
    cfg = ego4d_bench(tmp_path, TAD, MR)
    raises(lambda: VideoDataset(cfg, "valdation", "tad"), "tad.json", "split valdation",
           r"no videos with subset 'valdation' \(file has \['training'\]\)")  # fmt: skip


def test_malformed_annotation_json(tmp_path):
    cfg = ego4d_bench(tmp_path, TAD, MR)
    (tmp_path / "mr.json").write_text('{"database": {"a": {"duration": 3.0,,}}}')
    raises(lambda: VideoDataset(cfg, "training"), "mr.json", "line 1 column 37", "malformed JSON")


def test_malformed_charades_csv(tmp_path):
    (tmp_path / "c.csv").write_text("id,actions\nAAA,c001 1 2\n")
    d = {"adapter": "charades", "feat_folder": "feats", "input_dim": 8, "feat_stride": 4, "num_frames": 16,
         "default_fps": 24, "max_seq_len": 64, "tad": {"annotations": "c.csv", "format": "charades_csv",
                                                        "num_classes": 3, "class_embeddings": "k.npz"}}  # fmt: skip
    cfg = DataConfig.from_dict(d, tmp_path / "x.yaml", base_dir=tmp_path)
    with pytest.raises(DataError, match=r"c\.csv: missing column\(s\) \['length'\]"):
        VideoDataset(cfg, "Test", "tad")
    (tmp_path / "c.csv").write_text("id,actions,length\nAAA,c001 1 2,10\nAAA,c002 3 4,10\n")
    raises(lambda: VideoDataset(cfg, "Test", "tad"), "c.csv", "video AAA", "video id listed twice")


def test_duplicate_video_id_in_json(tmp_path):
    cfg = ego4d_bench(tmp_path, TAD, MR)
    (tmp_path / "tad.json").write_text(
        '{"database": {"a": {"subset": "training", "duration": 3, "annotations": []}, '
        '"a": {"subset": "validation", "duration": 4, "annotations": []}}}'
    )
    raises(lambda: VideoDataset(cfg, "training"), "tad.json", "'a'", "duplicate key")


def test_duplicate_anet_ids_after_the_v_prefix(tmp_path):
    db = {"abc": video("validation", 10.0, []), "v_abc": video("validation", 10.0, [])}
    write_json(tmp_path / "anet.json", {"database": db})
    d = {"adapter": "anet", "feat_folder": "feats", "input_dim": 8, "feat_stride": 16, "num_frames": 16,
         "default_fps": 30, "max_seq_len": 64,
         "tad": {"annotations": "anet.json", "num_classes": 1, "class_embeddings": "k.npz",
                 "average_embeddings": True}}  # fmt: skip
    cfg = DataConfig.from_dict(d, tmp_path / "x.yaml", base_dir=tmp_path)
    raises(lambda: VideoDataset(cfg, "validationV2", "tad"), "anet.json", "video v_abc", "listed twice")


# ---- embeddings ---------------------------------------------------------------------------------------------
def test_missing_query_embedding_file(tmp_path):
    cfg = ego4d_bench(tmp_path, TAD, MR)
    (tmp_path / "mr_emb" / "a.npz").unlink()
    raises(lambda: VideoDataset(cfg, "training"), "mr_emb/a.npz", "video a", "file not found")


def test_query_count_mismatch(tmp_path):
    fn = record(tmp_path)
    query_npz(tmp_path, "a", ["when did i sit?"])
    raises(fn, "mr_emb/a.npz", "video a", "1 query embeddings but 2 annotated queries")


def test_query_text_mismatch(tmp_path):
    fn = record(tmp_path)
    query_npz(tmp_path, "a", ["when did i sit?", "where was it?"])
    raises(fn, "mr_emb/a.npz", "video a, query 1", "stored query 'where was it\\?' != annotation 'where is it\\?'")


def test_stored_strings_and_rows_disagree(tmp_path):
    fn = record(tmp_path)
    write_npz_atomic(tmp_path / "mr_emb" / "a.npz",
                     {"features": np.ones((2, E), np.float32), "queries": np.array(["when did i sit?"])})  # fmt: skip
    raises(fn, "mr_emb/a.npz", "video a", "2 embedding rows but 1 stored query strings")


def test_query_npz_missing_key(tmp_path):
    fn = record(tmp_path)
    write_npz_atomic(tmp_path / "mr_emb" / "a.npz", {"features": np.ones((2, E), np.float32)})
    raises(fn, "mr_emb/a.npz", "video a", r"npz lacks key\(s\) \['queries'\]")


def test_query_embedding_dimension(tmp_path):
    fn = record(tmp_path)
    query_npz(tmp_path, "a", ["when did i sit?", "where is it?"], dim=E + 1)
    raises(fn, "mr_emb/a.npz", "video a", f"query embeddings dimension {E + 1} != expected {E}")


def test_class_embeddings_wrong_shape_and_dimension(tmp_path):
    fn = build(tmp_path, mr=None)
    write_npz_atomic(tmp_path / "classes.npz", {"features": np.ones((K + 1, E), np.float32)})
    raises(fn, "classes.npz", "class embeddings", f"{K + 1} rows != num_classes {K}")
    write_npz_atomic(tmp_path / "classes.npz", {"features": np.ones((K, E + 2), np.float32)})
    raises(fn, "classes.npz", "class embeddings", f"dimension {E + 2} != expected {E}")


def test_class_embeddings_with_nan(tmp_path):
    fn = build(tmp_path, mr=None)
    e = np.ones((K, E), np.float32)
    e[1, 0] = np.nan
    write_npz_atomic(tmp_path / "classes.npz", {"features": e})
    raises(fn, "classes.npz", "class embeddings", "non-finite value .* in row 1")


def test_pickled_query_strings_are_refused(tmp_path):
    fn = record(tmp_path)
    np.savez(tmp_path / "mr_emb" / "a.npz", features=np.ones((2, E), np.float32),
             queries=np.array(["when did i sit?", "where is it?"], dtype=object))  # fmt: skip
    raises(fn, "mr_emb/a.npz", "video a", "without unpickling")
