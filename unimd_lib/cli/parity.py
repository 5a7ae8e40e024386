"""``unimd parity CASE_DIR --out OUT_DIR``: re-run a model parity reference case with our implementation."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "parity",
        help="re-run a model parity reference case (refcases/model/<case>) and write outputs in its layout",
        description="Build the case's model with its recipe weights, run eval / train / optimiser stages as the "
        "reference did, and write eval_outputs.npz, train_outputs.npz, train_grads_small.npz, "
        "optim_params_after_3_steps_small.npz and results.json into OUT_DIR.",
    )
    p.add_argument("case_dir", metavar="CASE_DIR", help="e.g. ../shared/refcases/model/charades")
    p.add_argument("--out", dest="out_dir", required=True, metavar="OUT_DIR", help="output folder (created)")
    p.add_argument("--variant", default="recipe", help="weight variant sub-folder (default: recipe)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (the references used 2)")
    p.add_argument(
        "--compare",
        action="store_true",
        help="afterwards print the deviations from the case's reference files (max abs/rel, detection sets)",
    )
    p.set_defaults(func=_run)
    return p


def _run(args: argparse.Namespace) -> int:
    from unimd_lib.parity.harness import run_case

    res = run_case(args.case_dir, args.out_dir, variant=args.variant, threads=args.threads)
    det = res["train_deterministic"]
    print(
        f"{res['case']}: backward_loss {det['backward_loss']:.6g}, num_pos {det['num_pos']}, outputs in {args.out_dir}"
    )
    if args.compare:
        import json
        from pathlib import Path

        from unimd_lib.parity.compare import compare_outputs

        ref = Path(args.case_dir) / args.variant
        print(json.dumps(compare_outputs(args.out_dir, ref), indent=1))
    return 0
