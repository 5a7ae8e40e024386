"""What the views read, in seconds: per task, the ground truth *as its protocol prepares it* and the predictions
*as its protocol scores them*, so every view agrees with the metrics.

* TAD (``TadTables``): the ``DetectionGroundTruth`` of the split (subset filter, de-duplication, class
  columns), one display row per GT instance (class name, duration), and the predictions after the protocol's
  preparation (ANet external-score fusion, ``v_`` ids). The Charades per-frame protocol has no segment
  matching; its views use the ANet-style matching of ``charades_segment`` (tIoU 0.3:0.1:0.7).
* MR (``MrTables``): one row per GT query (text, window, duration; Ego4D NLQ windows from the official file)
  and the predictions of known queries with their rank and the protocol's IoU with the query's window.

Entry points: ``load_tables`` (a run folder, config file / preset or ``Config``) and ``tables_from_files``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from unimd_lib.errors import DataError
from unimd_lib.eval.assignments import MRRule, mr_rule, rank_windows
from unimd_lib.eval.detection_gt import DetectionGroundTruth, detection_ground_truth
from unimd_lib.eval.from_config import ground_truth
from unimd_lib.eval.protocols import CHARADES_TIOU, get_protocol, prepare_detection_predictions
from unimd_lib.formats.captions import read_captions
from unimd_lib.formats.charades_csv import read_charades_csv
from unimd_lib.formats.database import AnnotationTable, read_database
from unimd_lib.formats.nlq_official import read_nlq_official
from unimd_lib.formats.predictions import read_predictions, validate_predictions
from unimd_lib.formats.run_layout import CONFIG_FILE, prediction_file

Source = str | os.PathLike | pd.DataFrame | None


@dataclass
class TadTables:
    protocol: str  # the configured protocol (e.g. ego4d_mq)
    thresholds: tuple[float, ...]  # tIoU thresholds of the (segment) matching protocol
    gt: DetectionGroundTruth  # as the evaluator prepares it
    gt_table: pd.DataFrame  # row i = gt instance i: video_id, label_id, class_name, t_start, t_end, duration
    predictions: pd.DataFrame  # scored predictions: video_id, t_start, t_end, label, score
    class_names: dict[int, str]  # label_id -> name

    def class_name(self, label_id: int) -> str:
        return self.class_names.get(int(label_id), f"class {int(label_id)}")


@dataclass
class MrTables:
    protocol: str
    rule: MRRule
    queries: pd.DataFrame  # video_id, query_index, text, num_words, t_start, t_end, duration (+ NLQ ids)
    predictions: pd.DataFrame  # video_id, query_index, t_start, t_end, score, query (row of queries), rank, iou
    num_ignored: int = 0  # predictions for queries outside the GT split (the protocols ignore them)


@dataclass
class ViewTables:
    split: str | None
    tad: TadTables | None
    mr: MrTables | None

    @property
    def videos(self) -> pd.DataFrame:
        """``video_id, duration, tad, mr`` (does the video have TAD GT / predictions, MR queries), sorted."""
        parts = []
        if self.tad is not None:
            g = self.tad.gt_table[["video_id", "duration"]]
            p = self.tad.predictions.groupby("video_id", as_index=False)["t_end"].max()
            p = p.rename(columns={"t_end": "duration"}).assign(duration=np.nan)
            parts.append(pd.concat([g, p]).assign(tad=True, mr=False))
        if self.mr is not None:
            parts.append(self.mr.queries[["video_id", "duration"]].assign(tad=False, mr=True))
        if not parts:
            return pd.DataFrame(columns=["video_id", "duration", "tad", "mr"])
        df = pd.concat(parts, ignore_index=True)
        out = df.groupby("video_id", sort=True).agg(duration=("duration", "max"), tad=("tad", "any"), mr=("mr", "any"))
        return out.reset_index()


# ------------------------------------------------------------------------------------------------------ TAD
def _charades_table(path) -> AnnotationTable:
    csv = read_charades_csv(path)
    videos = pd.DataFrame({"video_id": csv.videos["video_id"], "subset": "", "duration": csv.videos["length"]})
    ann = csv.actions.copy()
    ann.insert(1, "index", ann.groupby("video_id").cumcount().astype(np.int64))
    return AnnotationTable(csv.path, videos, ann)


def _predictions(src: Source, kind: str) -> pd.DataFrame:
    if isinstance(src, pd.DataFrame):
        return src
    return read_predictions(src, kind)


def tad_tables(
    gt_path,
    predictions: Source,
    protocol: str = "ego4d_mq",
    split: str | None = "default",
    ext_scores=None,
    class_names: dict[int, str] | list[str] | None = None,
) -> TadTables:
    """TAD tables for an ANet-style protocol (``anet``, ``ego4d_mq``, ``charades_segment``; ``charades`` uses
    the ``charades_segment`` matching). ``split="default"``: the protocol's default split."""
    p = get_protocol(protocol)
    if protocol == "charades":
        thresholds, table = tuple(CHARADES_TIOU), _charades_table(gt_path)
        split = None
    elif p.tiou_thresholds is not None:
        thresholds = p.tiou_thresholds
        is_csv = str(gt_path).lower().endswith((".csv", ".csv.gz"))
        table = _charades_table(gt_path) if is_csv else read_database(gt_path)
    else:
        raise ValueError(f"{protocol!r} is not a detection protocol")
    if split == "default":
        split = p.default_split
    gt = detection_ground_truth(table, split)
    durations = table.videos.drop_duplicates("video_id").set_index("video_id")["duration"]
    names = _class_names(table.annotations, class_names)
    gt_table = pd.DataFrame(
        {
            "video_id": gt.video_id.astype(str),
            "label_id": gt.label_id,
            "class_name": [names.get(int(i), f"class {int(i)}") for i in gt.label_id],
            "t_start": gt.t_start,
            "t_end": gt.t_end,
            "duration": durations.reindex(gt.video_id).to_numpy(np.float64),
        }
    )
    raw = _predictions(predictions, "detection") if predictions is not None else None
    if raw is None:
        raw = validate_predictions(
            pd.DataFrame(columns=["video_id", "t_start", "t_end", "label", "score"]), "detection"
        )
    scored = prepare_detection_predictions(gt, raw, ext_scores).reset_index(drop=True)
    return TadTables(protocol, tuple(float(t) for t in thresholds), gt, gt_table, scored, names)


def _class_names(ann: pd.DataFrame, given) -> dict[int, str]:
    if given is not None:
        return dict(enumerate(given)) if isinstance(given, (list, tuple)) else {int(k): v for k, v in given.items()}
    if "label" not in ann or "label_id" not in ann:
        return {}
    pairs = ann[["label_id", "label"]].dropna().drop_duplicates("label_id")
    return {int(i): str(n) for i, n in zip(pairs["label_id"], pairs["label"])}


# ------------------------------------------------------------------------------------------------------- MR
def _query_rows(ann: pd.DataFrame, videos: pd.DataFrame, text_col: str) -> pd.DataFrame:
    dur = videos.drop_duplicates("video_id").set_index("video_id")["duration"]
    out = pd.DataFrame(
        {
            "video_id": ann["video_id"].astype(str).to_numpy(),
            "query_index": ann["index"].to_numpy(np.int64),
            "text": ann[text_col].astype(str).to_numpy(),
            "t_start": ann["t_start"].to_numpy(np.float64),
            "t_end": ann["t_end"].to_numpy(np.float64),
            "duration": dur.reindex(ann["video_id"]).to_numpy(np.float64),
        }
    )
    for col in ("annotation_uid", "annotation_idx"):
        if col in ann:
            out[col] = ann[col].to_numpy()
    return out


def mr_queries(protocol: str, gt_path, split: str | None = "default", queries_path=None) -> pd.DataFrame:
    """One row per GT query of the split, in the protocol's order. Ego4D NLQ: the queries (text, ids) come from
    the clip database ``queries_path`` (subset ``split``) and their windows from the official ``gt_path``."""
    if protocol == "anet_captions":
        cap = read_captions(gt_path)
        q = cap.rename(columns={"index": "query_index", "sentence": "text"})
        q = q[["video_id", "query_index", "text", "t_start", "t_end", "duration"]]
    elif protocol == "charades_sta":
        table = read_database(gt_path)
        split = get_protocol(protocol).default_split if split == "default" else split
        sub = table.subset(split) if split is not None else table
        if sub.videos.empty:
            raise DataError(gt_path, None, f"no videos in split {split!r}")
        text = "query" if "query" in sub.annotations else "label"
        q = _query_rows(sub.annotations, sub.videos, text)
    elif protocol == "ego4d_nlq":
        if queries_path is None:
            raise ValueError("ego4d_nlq needs queries_path: the NLQ clip database (query text, annotation ids)")
        clips = read_database(queries_path)
        split = "validation" if split == "default" else split
        sub = clips.subset(split) if split is not None else clips
        q = _query_rows(sub.annotations, sub.videos, "query")
        official = read_nlq_official(gt_path)
        key = ["clip_uid", "annotation_uid", "query_idx"]
        win = official.drop_duplicates(key).set_index(key)[["t_start", "t_end"]]
        idx = pd.MultiIndex.from_arrays([q["video_id"], q["annotation_uid"].astype(str), q["annotation_idx"]])
        pos = win.index.get_indexer(idx)
        if (pos < 0).any():
            bad = q.iloc[int(np.argmax(pos < 0))]
            raise DataError(gt_path, f"clip {bad['video_id']}, query {bad['query_index']}", "no official NLQ window")
        q["t_start"], q["t_end"] = win["t_start"].to_numpy()[pos], win["t_end"].to_numpy()[pos]
    else:
        raise ValueError(f"{protocol!r} is not a moment-retrieval protocol")
    q = q.reset_index(drop=True)
    q["num_words"] = q["text"].str.split().str.len().fillna(0).astype(np.int64)
    return q


def mr_tables(
    gt_path,
    predictions: Source,
    protocol: str = "charades_sta",
    split: str | None = "default",
    queries_path=None,
    comparison: str | None = None,
) -> MrTables:
    """MR tables; ``comparison`` overrides the protocol's hit rule (``">="`` / ``">"``)."""
    rule = mr_rule(protocol, comparison)
    queries = mr_queries(protocol, gt_path, split, queries_path)
    raw = _predictions(predictions, "sta") if predictions is not None else None
    if raw is None:
        raw = pd.DataFrame(columns=["video_id", "query_index", "t_start", "t_end", "score"])
    raw = raw.rename(columns={"clip_uid": "video_id", "sentence_index": "query_index"})
    preds = validate_predictions(raw, "sta")
    index = pd.MultiIndex.from_arrays([queries["video_id"], queries["query_index"]])
    q = index.get_indexer(pd.MultiIndex.from_arrays([preds["video_id"], preds["query_index"]]))
    ignored = int((q < 0).sum())
    preds = preds[q >= 0].reset_index(drop=True).assign(query=q[q >= 0])
    g = preds["query"].to_numpy()
    preds["rank"] = rank_windows(g, preds["score"].to_numpy())
    preds["iou"] = rule.iou(
        preds["t_start"].to_numpy(),
        preds["t_end"].to_numpy(),
        queries["t_start"].to_numpy()[g],
        queries["t_end"].to_numpy()[g],
    )
    return MrTables(protocol, rule, queries, preds, ignored)


# ----------------------------------------------------------------------------------------------- entry points
def tables_from_files(
    *,
    tad_gt=None,
    tad_predictions: Source = None,
    tad_protocol: str = "ego4d_mq",
    tad_split: str | None = "default",
    ext_scores=None,
    class_names=None,
    mr_gt=None,
    mr_predictions: Source = None,
    mr_protocol: str = "charades_sta",
    mr_split: str | None = "default",
    mr_queries_path=None,
    comparison: str | None = None,
    split: str | None = None,
) -> ViewTables:
    """Tables from explicit files (or prediction DataFrames); a task without a GT file is left out."""
    tad = (
        None
        if tad_gt is None
        else tad_tables(tad_gt, tad_predictions, tad_protocol, tad_split, ext_scores, class_names)
    )
    mr = None
    if mr_gt is not None:
        mr = mr_tables(mr_gt, mr_predictions, mr_protocol, mr_split, mr_queries_path, comparison)
    return ViewTables(split, tad, mr)


def load_tables(
    source,
    split: str | None = None,
    *,
    tad_predictions: Source = None,
    mr_predictions: Source = None,
    data_root=None,
    comparison: str | None = None,
) -> ViewTables:
    """Tables of a run folder (``config.yaml`` + ``predictions/<split>_<task>.csv``), a config file / preset
    or a ``Config``, scored with its ``eval`` protocols. ``split`` names the prediction files (default: the
    config's ``data.val_split``); predictions given explicitly (path or DataFrame) win over the run's files."""
    run_dir = None
    cfg = source
    if not hasattr(source, "eval"):
        from unimd_lib.config.load import load_config  # late: the model config is only needed here

        path = Path(source)
        if path.is_dir():
            run_dir, path = path, path / CONFIG_FILE
        cfg = load_config(path, data_root=data_root)
    split = split or cfg.data.val_split
    preds = {"tad": tad_predictions, "mr": mr_predictions}
    for task in preds:
        if preds[task] is None and run_dir is not None:
            f = prediction_file(run_dir, split, task)
            preds[task] = f if f.exists() else None
    ev = cfg.eval
    tad = mr = None
    if ev.tad_protocol is not None and cfg.data.tad is not None:
        eval_split = ev.split if ev.split is not None else "default"
        ext = cfg.resolve(ev.ext_scores) if ev.tad_protocol == "anet" else None
        tad = tad_tables(ground_truth(cfg, "tad"), preds["tad"], ev.tad_protocol, eval_split, ext)
    if ev.mr_protocol is not None and cfg.data.mr is not None:
        mr_files = cfg.data.mr
        queries = mr_files.annotations.get(split) or mr_files.annotations.get("*")
        subset = mr_files.subsets.get(split, split) if ev.mr_protocol == "ego4d_nlq" else (ev.split or "default")
        mr = mr_tables(ground_truth(cfg, "mr"), preds["mr"], ev.mr_protocol, subset, queries, comparison)
    if tad is None and mr is None:
        print("views: the config names no tad_protocol / mr_protocol in its eval section", file=sys.stderr)
    return ViewTables(split, tad, mr)
