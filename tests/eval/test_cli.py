"""``unimd evaluate`` / ``unimd export`` in-process: one JSON object on stdout, diagnostics on stderr."""

from __future__ import annotations

import json

import pytest

from tests.conftest import shared_path
from tests.eval.refcases import case_file, expected
from unimd_lib.backend import gpu_available
from unimd_lib.cli import main


def cli(capsys, *argv):
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def annotations(*parts):
    return str(shared_path("annotations", *parts))


def test_evaluate_anet_with_ext_scores(capsys):
    rc, out, err = cli(
        capsys,
        "evaluate",
        "anet",
        "--gt",
        annotations("derived", "anet13_val_derived.json"),
        "--pred",
        str(case_file("anet_tad_extscore", "proposals.csv")),
        "--ext-scores",
        str(case_file("anet_tad_extscore", "cls_scores.json.gz")),
        "--backend",
        "numpy",
    )
    assert rc == 0 and out.count("\n") == 1
    metrics = json.loads(out)
    want = expected("anet_tad_extscore")["outputs"]
    assert metrics["average_mAP"] == pytest.approx(want["average_mAP"], rel=1e-9)
    assert metrics["mAP@0.50"] == pytest.approx(want["mAP_per_tiou"][0], rel=1e-9)
    assert list(metrics)[:12] == ["average_mAP"] + [f"mAP@{t / 100:.2f}" for t in range(50, 100, 5)] + ["R1@0.50"]
    assert "65486 predictions" in err


@pytest.mark.parametrize(
    ("protocol", "gt", "pred", "key", "value"),
    [
        (
            "ego4d_mq",
            ("ego4d", "mq", "clip_annotations_not_filter.json"),
            ("ego4d_mq", "predictions.csv"),
            "R1@0.50",
            0.586461279514286,
        ),
        (
            "charades",
            ("derived", "charades_v1_test_subset_public.csv"),
            ("charades_tad", "frame_scores_tiefree_subset.txt.gz"),
            "mAP",
            0.36511926824670043,
        ),
        (
            "ego4d_nlq",
            ("ego4d", "nlq", "nlq_val.json"),
            ("ego4d_nlq", "predictions_ego4d_format.json"),
            "R5@0.50",
            0.4834796076406815,
        ),
        (
            "charades_sta",
            ("derived", "charades_sta_constructed_public.json"),
            ("charades_sta", "predictions.csv"),
            "R1@0.70",
            0.29855072175313313,
        ),
        (
            "anet_captions",
            ("anet", "captiondata", "val_2.json"),
            ("anet_captions", "raw_predictions_val_2.csv.gz"),
            "mIoU",
            0.358781170498943,
        ),
    ],
)
def test_evaluate_protocols(capsys, protocol, gt, pred, key, value):
    rc, out, _ = cli(capsys, "evaluate", protocol, "--gt", annotations(*gt), "--pred", str(case_file(*pred)))
    assert rc == 0
    assert json.loads(out)[key] == pytest.approx(value, rel=1e-9)


def test_unknown_protocol_and_bad_prediction_file(capsys, tmp_path):
    rc, out, err = cli(capsys, "evaluate", "kinetics", "--gt", "x", "--pred", "y")
    assert rc == 2 and out == "" and "unknown protocol 'kinetics'" in err and "anet_captions" in err
    bad = tmp_path / "p.csv"
    bad.write_text("video_id,t_start,t_end,score\nv,0,1,0.5\n")
    gt = annotations("derived", "anet13_val_derived.json")
    rc, out, err = cli(capsys, "evaluate", "anet", "--gt", gt, "--pred", str(bad))
    assert rc == 2 and out == "" and "missing column(s) ['label']" in err and str(bad) in err


def test_empty_predictions_score_zero(capsys, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("video_id,t_start,t_end,label,score\n")
    gt = annotations("derived", "charades_v1_test_anet_format.json")
    rc, out, _ = cli(capsys, "evaluate", "charades_segment", "--gt", gt, "--pred", str(empty))
    assert rc == 0 and set(json.loads(out).values()) == {0.0}
    sta = tmp_path / "sta.csv"
    sta.write_text("video_id,query_index,t_start,t_end,score\n")
    gt = annotations("derived", "charades_sta_constructed_public.json")
    rc, out, _ = cli(capsys, "evaluate", "charades_sta", "--gt", gt, "--pred", str(sta))
    assert rc == 0 and set(json.loads(out).values()) == {0.0}


def test_export_nlq_and_captions_match_the_reference(capsys, tmp_path):
    out_json = tmp_path / "nlq.json"
    rc, out, _ = cli(
        capsys,
        "export",
        "ego4d_nlq",
        "--pred",
        str(case_file("ego4d_nlq", "raw_predictions.csv")),
        "--clips",
        annotations("ego4d", "nlq", "clip_annotations_not_filter.json"),
        "--out",
        str(out_json),
    )
    assert rc == 0 and json.loads(out) == {"out": str(out_json), "entries": 3874, "empty_entries": 206}
    assert out_json.read_bytes() == case_file("ego4d_nlq", "predictions_ego4d_format.json").read_bytes()
    cap = tmp_path / "cap.json"
    rc, _, _ = cli(
        capsys,
        "export",
        "anet_captions",
        "--out",
        str(cap),
        "--pred",
        str(case_file("anet_captions", "raw_predictions_val_1.csv.gz")),
    )
    rc2, out, _ = cli(
        capsys,
        "evaluate",
        "anet_captions",
        "--gt",
        annotations("anet", "captiondata", "val_1.json"),
        "--pred",
        str(cap),
    )
    assert rc == rc2 == 0
    assert json.loads(out)["mIoU"] == pytest.approx(0.3484178230265437, rel=1e-9)


def test_export_charades_frames_then_evaluate(capsys, tmp_path):
    txt = tmp_path / "frames.txt"
    gt = annotations("derived", "charades_v1_test_subset_public.csv")
    rc, out, _ = cli(
        capsys,
        "export",
        "charades_frames",
        "--pred",
        str(case_file("charades_tad", "predictions.csv")),
        "--gt",
        gt,
        "--out",
        str(txt),
    )
    assert rc == 0 and json.loads(out)["lines"] == 2500
    first = txt.read_text().splitlines()[0].split(" ")
    assert len(first) == 159 and first[1] == "0"
    rc, out_txt, _ = cli(capsys, "evaluate", "charades", "--gt", gt, "--pred", str(txt))
    rc2, out_seg, _ = cli(
        capsys, "evaluate", "charades", "--gt", gt, "--pred", str(case_file("charades_tad", "predictions.csv"))
    )
    assert rc == rc2 == 0 and json.loads(out_txt) == json.loads(out_seg)  # text round trip is lossless


def test_export_needs_its_side_file(capsys, tmp_path):
    rc, _, err = cli(capsys, "export", "ego4d_nlq", "--pred", "x.csv", "--out", str(tmp_path / "o.json"))
    assert rc == 2 and "needs --clips" in err
    rc, _, err = cli(capsys, "export", "bogus", "--pred", "x.csv", "--out", str(tmp_path / "o.json"))
    assert rc == 2 and "unknown format" in err


@pytest.mark.skipif(gpu_available(), reason="checks the message shown without a GPU")
def test_cupy_backend_without_gpu_is_a_clear_error(capsys):
    gt = annotations("derived", "charades_sta_constructed_public.json")
    rc, out, err = cli(
        capsys,
        "evaluate",
        "charades_sta",
        "--gt",
        gt,
        "--backend",
        "cupy",
        "--pred",
        str(case_file("charades_sta", "predictions.csv")),
    )
    assert rc == 2 and out == "" and "backend='cupy' requested" in err
