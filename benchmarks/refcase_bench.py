"""All seven evaluation protocols on the reference cases (``shared/refcases``), numpy against CuPy.

The reference cases are predictions scored by the original UniMD code over real annotation files; each case folder
holds an ``expected.json`` whose annotation pointer names the GT file (``refcases/README.md``: ``UniMD repo:
data/<p>`` → ``annotations/<p>``, ``refcases/annotations/<f>`` → ``annotations/derived/<f>``; ``annotations`` sits
beside ``refcases``). The table has the shape of ``eval_bench.evaluation_table`` plus the expected headline
values: ``expected`` (NaN where the case gives none) and ``matches`` (within the README tolerance).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from benchmarks.device_timing import default_backends, timed
from benchmarks.eval_bench import eval_frame, metric_rows, quiet

Key = tuple  # a path into expected.json: keys and list indices


@dataclass(frozen=True)
class RefCase:
    """One scored case: the protocol, the case folder and prediction file, where ``expected.json`` keeps the
    annotation pointer, and the headline metrics (protocol metric name → path of the expected value)."""

    name: str
    protocol: str
    folder: str
    predictions: str
    pointer: Key
    expected: dict[str, Key] = field(default_factory=dict)
    ext_scores: str | None = None
    rel_tol: float = 1e-9
    abs_tol: float = 0.0


F1 = "f1_per_frame_map_from_segments"
F3 = "f3_tiefree_frame_scores"
CAPTIONS = ("per_annotation_file", "val_2")
REF_CASES: tuple[RefCase, ...] = (
    RefCase("anet_tad", "anet", "anet_tad", "predictions.csv", ("annotation_file",),
            {"average_mAP": ("outputs", "average_mAP"), "mAP@0.50": ("outputs", "mAP_per_tiou", 0)}),
    RefCase("anet_tad_extscore", "anet", "anet_tad_extscore", "proposals.csv", ("annotation_file",),
            {"average_mAP": ("outputs", "average_mAP"), "mAP@0.50": ("outputs", "mAP_per_tiou", 0)},
            ext_scores="cls_scores.json.gz"),
    RefCase("ego4d_mq", "ego4d_mq", "ego4d_mq", "predictions.csv", ("annotation_file",),
            {"average_mAP": ("outputs", "average_mAP"), "R1@0.50": ("outputs", "mRecall_per_tiou_topk", -1, 0)}),
    RefCase("charades_tad f2", "charades_segment", "charades_tad", "predictions.csv",
            ("f2_anet_style_map", "annotation_file"),
            {"average_mAP": ("f2_anet_style_map", "outputs", "average_mAP")}),
    # f1 depends on numpy's tie order: the README gives it +-2e-4
    RefCase("charades_tad f1", "charades", "charades_tad", "predictions.csv", (F1, "annotation_file"),
            {"mAP": (F1, "outputs", "mAP(original, numpy default argsort on this machine)")}, rel_tol=0.0,
            abs_tol=2e-4),
    RefCase("charades_tad f3", "charades", "charades_tad", "frame_scores_tiefree_subset.txt.gz",
            (F3, "annotation_file"), {"mAP": (F3, "outputs", "mAP"), "wAP": (F3, "outputs", "WAP")}),
    RefCase("ego4d_nlq", "ego4d_nlq", "ego4d_nlq", "predictions_ego4d_format.json", ("annotation_file",),
            {"R1@0.30": ("outputs", "mean_results[threshold][topK]", 0, 0),
             "R5@0.50": ("outputs", "mean_results[threshold][topK]", 1, 2), "mIoU": ("outputs", "mIoU")}),
    RefCase("charades_sta", "charades_sta", "charades_sta", "predictions.csv", ("annotation_file",),
            {"R1@0.50": ("outputs", "summary(hits/(labels+1e-5))", "1-0.50"),
             "R1@0.70": ("outputs", "summary(hits/(labels+1e-5))", "1-0.70")}),
    RefCase("anet_captions val_2", "anet_captions", "anet_captions", "raw_predictions_val_2.csv.gz",
            (*CAPTIONS, "annotation_file"),
            {"mIoU": (*CAPTIONS, "outputs", "mIOU"), "R1@0.50": (*CAPTIONS, "outputs", "R@1IOU0.5")}),
)  # fmt: skip


def resolve_pointer(pointer: str, shared: str | os.PathLike) -> Path:
    """An ``expected.json`` annotation pointer → the file under ``shared/annotations``."""
    p = pointer.split(" (")[0].split(",")[0].strip()
    if p.startswith("UniMD repo: data/"):
        return Path(shared, "annotations", *p.removeprefix("UniMD repo: data/").split("/"))
    if p.startswith("refcases/annotations/"):
        return Path(shared, "annotations", "derived", p.removeprefix("refcases/annotations/"))
    raise ValueError(f"unknown annotation pointer {pointer!r}")


def lookup(obj, key: Key):
    for k in key:
        obj = obj[k]
    return obj


def case_inputs(refcases_dir: str | os.PathLike, case: RefCase) -> tuple[Path, Path, Path | None, dict[str, float]]:
    """(GT file, prediction file, external scores or None, expected headline values) of ``case``."""
    folder = Path(refcases_dir, case.folder)
    exp = json.loads((folder / "expected.json").read_text())
    gt = resolve_pointer(lookup(exp, case.pointer), Path(refcases_dir).parent)
    ext = folder / case.ext_scores if case.ext_scores else None
    return gt, folder / case.predictions, ext, {m: float(lookup(exp, k)) for m, k in case.expected.items()}


def refcase_table(
    refcases_dir: str | os.PathLike,
    *,
    repeats: int = 3,
    backends: Sequence[str] | None = None,
    cases: Sequence[RefCase] = REF_CASES,
) -> pd.DataFrame:
    """Every reference case scored on each backend (``EVAL_COLUMNS``); seconds cover GT reading and scoring, the
    predictions being read once beforehand. Raises ``FileNotFoundError`` when ``refcases_dir`` is absent."""
    from unimd_lib.eval.protocols import evaluate, read_protocol_predictions

    if not Path(refcases_dir).is_dir():
        raise FileNotFoundError(f"{refcases_dir}: no reference cases folder")
    backends = tuple(backends or default_backends())
    rows = []
    for case in cases:
        gt, pred_file, ext, expected = case_inputs(refcases_dir, case)
        preds = read_protocol_predictions(case.protocol, pred_file)
        values, seconds = {}, {}
        for backend in backends:

            def score(backend=backend, case=case, gt=gt, preds=preds, ext=ext):
                return quiet(lambda: evaluate(case.protocol, gt, preds, ext_scores=ext, backend=backend))

            values[backend], seconds[backend] = timed(score, repeats, warmup=1 if backend == "cupy" else 0)
        for row in metric_rows(case.name, case.protocol, values, seconds):
            if row["metric"] in expected:
                want = expected[row["metric"]]
                row["expected"] = want
                row["matches"] = bool(abs(row["numpy"] - want) <= max(case.abs_tol, case.rel_tol * abs(want)))
            rows.append(row)
    return eval_frame(rows)


def headline(table: pd.DataFrame) -> pd.DataFrame:
    """The rows with an expected value: one or two headline metrics per case."""
    return table.loc[table["expected"].notna()].reset_index(drop=True)
