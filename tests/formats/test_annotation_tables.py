"""The annotation table readers over the real files in ../shared/annotations (counts from its README)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import shared_path
from unimd_lib.errors import DataError
from unimd_lib.formats.captions import read_captions
from unimd_lib.formats.charades_csv import read_charades_csv
from unimd_lib.formats.database import read_database
from unimd_lib.formats.files import read_json
from unimd_lib.formats.nlq_official import read_nlq_official


def test_ego4d_mq_counts():
    table = read_database(shared_path("annotations", "ego4d", "mq", "clip_annotations_not_filter.json"))
    per_split = table.videos.groupby("subset")["video_id"].count().to_dict()
    assert per_split == {"training": 1506, "validation": 528}
    train, val = table.subset("training"), table.subset("Validation")
    assert len(train.annotations) == 14243 and len(val.annotations) == 4556
    assert train.annotations["label_id"].nunique() == 110 == val.annotations["label_id"].nunique()
    assert (table.videos["fps"] == 30.0).all()


def test_ego4d_nlq_counts_and_test_file_without_segments():
    table = read_database(shared_path("annotations", "ego4d", "nlq", "clip_annotations_not_filter.json"))
    assert len(table.subset("training").annotations) == 11291
    assert len(table.subset("validation").videos) == 328
    val = table.subset("validation").annotations
    assert len(val) == 3874
    # a query's index is its position in the clip's list (the MR label)
    assert (val.groupby("video_id")["index"].apply(lambda s: list(s) == list(range(len(s))))).all()
    test = read_database(shared_path("annotations", "ego4d", "nlq", "clip_annotations_test_no_gt.json"))
    assert len(test.videos) == 333 and len(test.annotations) == 4004
    assert test.annotations["t_start"].isna().all()


def test_nlq_official_val():
    path = shared_path("annotations", "ego4d", "nlq", "nlq_val.json")
    df = read_nlq_official(path)
    assert len(df) == 3875
    assert df["query"].notna().sum() == 3874
    assert len(read_json(path)["videos"]) == 247 and df["clip_uid"].nunique() == 328


def test_captions_counts():
    v2 = read_captions(shared_path("annotations", "anet", "captiondata", "val_2.json"))
    v1 = read_captions(shared_path("annotations", "anet", "captiondata", "val_1.json"))
    assert (v2["video_id"].nunique(), len(v2)) == (4885, 17031)
    assert (v1["video_id"].nunique(), len(v1)) == (4917, 17505)
    assert set(v2["video_id"]) <= set(v1["video_id"])
    assert (v2["t_end"] > v2["duration"]).sum() == 111


def test_charades_csv_counts():
    table = read_charades_csv(shared_path("annotations", "charades", "Charades_v1_test.csv"))
    assert len(table.videos) == 1863
    assert len(table.actions) == 16691
    assert table.actions["label_id"].nunique() == 157
    assert len(set(table.videos["video_id"]) - set(table.actions["video_id"])) == 49


def test_derived_anet_and_sta():
    anet = read_database(shared_path("annotations", "derived", "anet13_val_derived.json"))
    val = anet.subset("validation")
    assert (len(val.videos), len(val.annotations), val.annotations["label_id"].nunique()) == (4728, 7293, 200)
    sta = read_database(shared_path("annotations", "derived", "charades_sta_constructed_public.json"))
    assert (len(sta.videos), len(sta.annotations)) == (400, 1035)


def test_malformed_json_names_file_and_position(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"database": {"v1": {"duration": 3.0,,}}}')
    with pytest.raises(DataError, match=r"bad\.json: line 1 column \d+: malformed JSON"):
        read_json(p)


def test_duplicate_video_id_is_rejected(tmp_path):
    p = tmp_path / "dup.json"
    p.write_text('{"database": {"v1": {"duration": 3, "annotations": []}, "v1": {"duration": 4, "annotations": []}}}')
    with pytest.raises(DataError, match=r"dup\.json: 'v1': duplicate key"):
        read_database(p)


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"duration": 5, "annotations": [{"segment": [1.0]}]}, r"v9, annotation 0: 'segment' must be \[start, end\]"),
        ({"duration": 5, "annotations": [{"segment": ["a", 2]}]}, r"v9, annotation 0: segment start must be a number"),
        ({"duration": "long", "annotations": []}, r"video v9: duration must be a number"),
        ({"duration": 5, "annotations": {"segment": [1, 2]}}, r"video v9: 'annotations' must be a list"),
    ],
)
def test_structural_errors_name_the_video(tmp_path, entry, message):
    p = tmp_path / "ann.json"
    p.write_text(json.dumps({"database": {"v9": entry}}))
    with pytest.raises(DataError, match=message):
        read_database(p)


def test_charades_csv_bad_action(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("id,actions,length\nAAA,c001 1.0 2.0;c0x2 3 4,10\n")
    with pytest.raises(DataError, match=r"c\.csv: video AAA, action 1: expected 'cNNN start end'"):
        read_charades_csv(p)
