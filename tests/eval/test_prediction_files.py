"""Prediction CSV reading/validation/writing and the submission readers: bad inputs give DataError naming the
file and the line; empty files are valid empty prediction sets."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from unimd_lib.errors import DataError
from unimd_lib.formats.predictions import read_class_scores, read_predictions, write_predictions
from unimd_lib.formats.submissions import read_captions_submission, read_nlq_submission

HEADER = "video_id,t_start,t_end,label,score\n"


def write(tmp_path, text, name="p.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_reads_dtypes_float32_times_and_string_ids(tmp_path):
    p = write(tmp_path, HEADER + "00607,40.70917510986328,211.52999877929688,155,0.6903830170631409\n")
    df = read_predictions(p, "detection")
    assert df["video_id"].tolist() == ["00607"]  # not parsed as a number
    assert df["t_start"].dtype == np.float32 and df["t_start"][0] == np.float32(40.70917510986328)
    assert df["label"].dtype == np.int64 and df["score"].dtype == np.float64


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("v1,0,1,3,0.5\nv2,0,1,3,nan\n", "line 3 \\(video_id v2\\): score .* is not a number"),
        ("v1,0,1,3,0.5\nv2,0,1,3,\n", "line 3 \\(video_id v2\\): score .* is not a number"),
        ("v1,0,1,3,inf\n", "line 2 \\(video_id v1\\): score .* is not finite"),
        ("v1,zero,1,3,0.5\n", "line 2 \\(video_id v1\\): t_start 'zero' is not a number"),
        ("v1,0,1,3.5,0.5\n", "line 2 \\(video_id v1\\): label '3.5' is not an integer"),
        ("v1,0,1e39,3,0.5\n", "t_end .* overflows float32"),
        (",0,1,3,0.5\n", "line 2: empty video_id"),
    ],
)
def test_bad_values_name_file_and_line(tmp_path, body, message):
    p = write(tmp_path, HEADER + body)
    with pytest.raises(DataError, match=message) as err:
        read_predictions(p, "detection")
    assert str(p) in str(err.value)


def test_missing_columns_and_missing_file(tmp_path):
    p = write(tmp_path, "video_id,t_start,t_end,score\nv,0,1,0.5\n")
    with pytest.raises(DataError, match=r"missing column\(s\) \['label'\]"):
        read_predictions(p, "detection")
    with pytest.raises(DataError, match="file not found"):
        read_predictions(tmp_path / "nope.csv", "detection")
    with pytest.raises(ValueError, match="unknown prediction kind"):
        read_predictions(p, "bogus")


@pytest.mark.parametrize("text", ["", HEADER])
def test_empty_file_is_an_empty_prediction_set(tmp_path, text):
    df = read_predictions(write(tmp_path, text), "sta" if not text else "detection")
    assert len(df) == 0 and "score" in df.columns


def test_writer_round_trips_exactly_and_compresses(tmp_path):
    df = pd.DataFrame(
        {
            "video_id": ["a", "b"],
            "t_start": np.float32([0.1, 2.5]),
            "t_end": np.float32([1.3, 3.0]),
            "label": [1, 2],
            "score": [0.14451825414429906, 0.5],
        }
    )
    for name in ("out.csv", "out.csv.gz"):
        write_predictions(df, tmp_path / name, "detection")
        back = read_predictions(tmp_path / name, "detection")
        assert back.equals(df.astype({"video_id": back["video_id"].dtype}))
    with gzip.open(tmp_path / "out.csv.gz", "rt") as fh:
        assert fh.readline() == HEADER
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "out.csv.gz"]  # no temp files left


def test_class_scores_and_submission_readers_reject_malformed(tmp_path):
    with pytest.raises(DataError, match="video v: class scores"):
        read_class_scores(write(tmp_path, '{"results": {"v": [0.1, "x"]}}', "c.json"))
    with pytest.raises(DataError, match="entry 0: predicted_times"):
        read_nlq_submission(
            write(
                tmp_path,
                '{"results": [{"clip_uid": "c", "annotation_uid": "a", "query_idx": 0, '
                '"predicted_times": [[1, 2, 3]]}]}',
                "n.json",
            )
        )
    with pytest.raises(DataError, match="key v-0"):
        read_captions_submission(write(tmp_path, '{"results": {"v-0": {"timestamp": [1, 2]}}}', "r.json"))
