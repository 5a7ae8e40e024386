"""``unimd export FORMAT``: raw per-query predictions → an official submission / intermediate file."""

from __future__ import annotations

import argparse
import json

from unimd_lib.backend import BACKENDS
from unimd_lib.errors import UsageError
from unimd_lib.eval.charades_frames import frame_scores_from_segments
from unimd_lib.formats.charades_csv import read_charades_csv
from unimd_lib.formats.database import read_database
from unimd_lib.formats.predictions import read_predictions
from unimd_lib.formats.submissions import (
    captions_submission,
    nlq_submission,
    write_charades_frame_scores,
    write_submission_json,
)

FORMATS = {
    "ego4d_nlq": "NLQ submission JSON from an NLQ CSV (clip_uid, query_index, ...); needs --clips",
    "anet_captions": "ANet-Captions result JSON from a captions CSV (video_id, sentence_index, ...)",
    "charades_frames": "Charades per-frame score text from a detection CSV; needs --gt Charades_v1_test.csv",
}


def add_parser(subparsers) -> None:
    listing = "\n".join(f"  {k:16s} {v}" for k, v in FORMATS.items())
    p = subparsers.add_parser(
        "export",
        help="convert raw predictions to a submission format",
        description=f"Convert raw per-query predictions to a submission format.\n\nformats:\n{listing}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("format", metavar="FORMAT", help="one of: " + ", ".join(FORMATS))
    p.add_argument("--pred", required=True, metavar="PRED_CSV", help="raw prediction CSV")
    p.add_argument("--out", required=True, metavar="OUT_FILE", help="output file (.gz compresses)")
    p.add_argument("--clips", metavar="CLIP_JSON", help="ego4d_nlq: NLQ clip annotations (UniMD format)")
    p.add_argument("--split", default="validation", help="ego4d_nlq: clip subset listing the queries")
    p.add_argument("--gt", metavar="CHARADES_CSV", help="charades_frames: videos and durations")
    p.add_argument("--backend", default="auto", choices=BACKENDS, help="array backend (charades_frames)")
    p.set_defaults(func=run)


def _export(args: argparse.Namespace) -> dict:
    if args.format == "ego4d_nlq":
        if not args.clips:
            raise UsageError(None, "--clips", "ego4d_nlq needs --clips (the NLQ clip_annotations JSON)")
        sub = nlq_submission(read_predictions(args.pred, "nlq"), read_database(args.clips), args.split)
        write_submission_json(sub, args.out)
        empty = sum(not e["predicted_times"] for e in sub["results"])
        return {"out": args.out, "entries": len(sub["results"]), "empty_entries": empty}
    if args.format == "anet_captions":
        sub = captions_submission(read_predictions(args.pred, "captions"))
        write_submission_json(sub, args.out)
        return {"out": args.out, "keys": len(sub["results"])}
    if args.format == "charades_frames":
        if not args.gt:
            raise UsageError(None, "--gt", "charades_frames needs --gt (Charades_v1_test.csv: videos and durations)")
        videos = read_charades_csv(args.gt).videos
        scores = frame_scores_from_segments(
            videos["video_id"], videos["length"], read_predictions(args.pred, "detection"), backend=args.backend
        )
        write_charades_frame_scores(args.out, videos["video_id"], scores)
        return {"out": args.out, "lines": int(scores.shape[0])}
    raise UsageError(None, "FORMAT", f"unknown format {args.format!r}; expected one of {', '.join(FORMATS)}")


def run(args: argparse.Namespace) -> int:
    print(json.dumps(_export(args)))
    return 0
