"""``unimd evaluate PROTOCOL --gt GT --pred PRED``: one official metric protocol, one JSON object on stdout."""

from __future__ import annotations

import argparse
import json
import math
import sys

from unimd_lib.backend import BACKENDS
from unimd_lib.eval.protocols import PROTOCOLS, evaluate, read_protocol_predictions


def add_parser(subparsers) -> None:
    listing = "\n".join(f"  {name:18s} {p.help}" for name, p in PROTOCOLS.items())
    p = subparsers.add_parser(
        "evaluate",
        help="score predictions with an official protocol (prints one JSON object)",
        description=f"Score predictions with an official UniMD protocol.\n\nprotocols:\n{listing}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("protocol", metavar="PROTOCOL", help="one of: " + ", ".join(PROTOCOLS))
    p.add_argument("--gt", required=True, metavar="GT_FILE", help="annotation file of the protocol")
    p.add_argument("--pred", required=True, metavar="PRED_FILE", help="prediction file (CSV / JSON / frame text)")
    p.add_argument("--split", default=None, help="GT subset (default: the protocol's own)")
    p.add_argument("--ext-scores", default=None, metavar="FILE", help="anet only: {'results': {video: [probs]}}")
    p.add_argument("--backend", default="auto", choices=BACKENDS, help="array backend (default: auto)")
    p.set_defaults(func=run)


def _json_value(v: float):
    return v if math.isfinite(v) else None  # NaN/inf are not JSON: null (the cause is reported on stderr)


def run(args: argparse.Namespace) -> int:
    predictions = read_protocol_predictions(args.protocol, args.pred)
    metrics = evaluate(args.protocol, args.gt, predictions, args.split, args.ext_scores, args.backend)
    bad = [k for k, v in metrics.items() if not math.isfinite(v)]
    if bad:
        print(f"unimd evaluate: {bad} undefined (e.g. no GT positives / no entries); written as null", file=sys.stderr)
    print(json.dumps({k: _json_value(v) for k, v in metrics.items()}))
    return 0
