"""Per-benchmark adapters: annotation files of one split → ``TaskAnnotations`` (seconds, sanitised).

Thin on purpose: the file readers live in ``formats``, the segment policy in ``data.segments``; this module
only knows each benchmark's conventions (spec §6.2-6.4):

* Ego4D: MQ and NLQ database jsons filtered by ``subset``; MQ label = ``label_id``; NLQ text = ``query``,
  label = position in the clip's list, meta ``annotation_uid`` / ``annotation_idx``; zero-length kept.
* Charades: files are per split (no subset filter); TAD from the converted database json or straight from
  ``Charades_v1_*.csv`` (``label_id`` = NNN of ``cNNN``); Charades-STA sentence = ``label``.
* ANet: TAD ids gain ``v_``; split ``validationV1``/``V2`` reads subset ``validation``; duplicates and
  events shorter than 1e-3 s dropped; ``num_classes: 1`` → class-agnostic (all labels 0). MR from the
  ActivityNet-Captions json (no subset).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from unimd_lib.config.data import ANY_SPLIT, DataConfig, MrFiles, TadFiles
from unimd_lib.data.segments import (
    IssueLog,
    TaskAnnotations,
    VideoAnnotation,
    check_duration,
    dedup_mask,
    sanitise_segments,
)
from unimd_lib.errors import DataError
from unimd_lib.formats.captions import read_captions
from unimd_lib.formats.charades_csv import read_charades_csv
from unimd_lib.formats.database import AnnotationTable, read_database

_ZERO_LENGTH = {"ego4d": "keep", "charades": "error", "anet": "drop"}  # TAD; MR: ANet "error"


def zero_length_policy(cfg: DataConfig, task: str) -> str:
    if cfg.zero_length is not None:
        return cfg.zero_length
    return "error" if (cfg.adapter, task) == ("anet", "mr") else _ZERO_LENGTH[cfg.adapter]


def annotation_file(files: TadFiles | MrFiles, split: str, task: str) -> Path:
    path = files.annotations.get(split, files.annotations.get(ANY_SPLIT))
    if path is None:
        have = sorted(files.annotations)
        raise DataError(None, f"split {split}", f"no {task} annotation file configured (have {have})")
    return path


def default_subset(adapter: str, task: str, split: str) -> str | None:
    if adapter == "charades":
        return None  # Charades files are split by file (spec §6.3)
    if adapter == "anet" and task == "tad" and split.lower().startswith("validation"):
        return "validation"  # validationV1 / validationV2 both read TAD subset 'validation' (spec §6.4)
    return split


def anet_id(vid: str) -> str:
    return vid if vid.startswith("v_") else f"v_{vid}"


def _filter_subset(table: AnnotationTable, subset: str | None, split: str) -> AnnotationTable:
    out = table if subset is None else table.subset(subset)
    if len(out.videos) == 0:
        have = sorted(set(table.videos["subset"]))
        raise DataError(table.path, f"split {split}", f"no videos with subset {subset!r} (file has {have})")
    return out


def _grouped(annotations: pd.DataFrame) -> dict[str, dict[str, np.ndarray]]:
    """Each video's rows as column arrays, in file order (numpy slices: a pandas frame per video costs ~1 ms,
    seconds on ActivityNet's thousands of videos)."""
    cols = {c: annotations[c].to_numpy() for c in annotations.columns}
    idx = annotations.groupby("video_id", sort=False).indices
    return {vid: {c: a[idx[vid]] for c, a in cols.items()} for vid in pd.unique(annotations["video_id"]) if vid in idx}


def _segments(g: dict[str, np.ndarray]) -> np.ndarray:
    return np.stack([g["t_start"], g["t_end"]], axis=1).astype(np.float64).reshape(-1, 2)


def _fps(value) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _rename(path: str, ids: list[str], adapter: str) -> list[str]:
    if adapter != "anet":
        return ids
    out, seen = [], {}
    for vid in ids:
        new = anet_id(vid)
        if new in seen:
            raise DataError(path, f"video {new}", f"listed twice (as {seen[new]!r} and {vid!r})")
        seen[new] = vid
        out.append(new)
    return out


def load_tad(cfg: DataConfig, split: str, log: IssueLog) -> TaskAnnotations:
    tad = cfg.tad
    assert tad is not None
    path = annotation_file(tad, split, "tad")
    if tad.format == "charades_csv":
        table, subset = _charades_csv_table(path), None
    else:
        table = read_database(path)
        subset = tad.subsets.get(split, default_subset(cfg.adapter, "tad", split))
    agnostic = tad.num_classes == 1 and cfg.adapter == "anet"
    names = _class_names(table, tad.num_classes, agnostic)  # from the whole file, so every split agrees
    file_names = _file_class_names(table) if agnostic else {}
    table = _filter_subset(table, subset, split)
    groups = _grouped(table.annotations)
    videos: dict[str, VideoAnnotation] = {}
    ids = _rename(table.path, list(table.videos["video_id"]), cfg.adapter)
    for orig, vid, duration, fps in zip(table.videos["video_id"], ids, table.videos["duration"], table.videos["fps"]):
        duration = check_duration(table.path, vid, duration)
        g = groups.get(orig)
        segs = np.zeros((0, 2)) if g is None else _segments(g)
        if g is not None and "label_id" not in g:
            raise DataError(table.path, f"video {vid}, annotation {g['index'][0]}", "annotation lacks 'label_id'")
        labels = np.zeros(0, np.int64) if g is None else _labels(table.path, vid, g, tad.num_classes, agnostic)
        index = np.arange(len(segs))  # position in the file's list, for messages
        if cfg.adapter == "anet":
            keep = dedup_mask(segs, labels)
            for i in np.flatnonzero(~keep):
                log.add("duplicate / <1e-3 s TAD events dropped", f"video {vid}, annotation {i}")
            segs, labels, index = segs[keep], labels[keep], index[keep]
        file_labels = labels
        if agnostic:
            labels = np.zeros_like(labels)
        segs, keep = sanitise_segments(
            table.path, vid, segs, duration, log, swap_reversed=False,
            zero_length=zero_length_policy(cfg, "tad"), clip=cfg.clip_to_duration,
            names=[f"annotation {i}" for i in index],
        )  # fmt: skip
        # class-agnostic training still shows the file's classes to data exploration
        meta = {"class_name": [file_names.get(int(x), f"class {x}") for x in file_labels[keep]]} if agnostic else {}
        videos[vid] = VideoAnnotation(vid, duration, _fps(fps), segs[keep], labels[keep], meta=meta)
    return TaskAnnotations("tad", table.path, split, dict(sorted(videos.items())), names)


def _file_class_names(table: AnnotationTable) -> dict[int, str]:
    a = table.annotations
    if "label" not in a or "label_id" not in a:
        return {}
    return {int(i): n for i, n in zip(a["label_id"], a["label"]) if isinstance(n, str) and pd.notna(i)}


def _labels(path: str, vid: str, g: dict[str, np.ndarray], num_classes: int, agnostic: bool) -> np.ndarray:
    out = []
    for i, lab in zip(g["index"], g["label_id"]):
        item = f"video {vid}, annotation {i}"
        if lab is None or (isinstance(lab, float) and np.isnan(lab)):
            raise DataError(path, item, "annotation lacks 'label_id'")
        if isinstance(lab, (bool, np.bool_)) or not isinstance(lab, (int, float, np.integer, np.floating)):
            raise DataError(path, item, f"label_id must be an integer, got {lab!r}")
        if float(lab) != int(lab):
            raise DataError(path, item, f"label_id must be an integer, got {lab!r}")
        lab = int(lab)
        if lab < 0 or (not agnostic and lab >= num_classes):
            raise DataError(path, item, f"unknown label_id {lab} (num_classes {num_classes})")
        out.append(lab)
    return np.asarray(out, dtype=np.int64)


def _class_names(table: AnnotationTable, num_classes: int, agnostic: bool) -> list[str]:
    if agnostic:
        return ["action"]
    names = [f"class {i}" for i in range(num_classes)]
    a = table.annotations
    if "label" not in a or "label_id" not in a:
        return names
    seen: dict[int, str] = {}
    for vid, i, lab, name in zip(a["video_id"], a["index"], a["label_id"], a["label"]):
        valid = isinstance(lab, (int, np.integer, float)) and 0 <= lab < num_classes and isinstance(name, str)
        if valid and seen.setdefault(int(lab), name) != name:
            raise DataError(
                table.path, f"video {vid}, annotation {i}", f"label_id {lab} named {name!r} and {seen[int(lab)]!r}"
            )
    for lab, name in seen.items():
        names[lab] = name
    return names


def _charades_csv_table(path: Path) -> AnnotationTable:
    """The official CSV as a database table (``duration`` = ``length``; fps comes from the config)."""
    csv = read_charades_csv(path)
    videos = pd.DataFrame(
        {"video_id": csv.videos["video_id"], "subset": "", "duration": csv.videos["length"], "fps": np.nan}
    )
    a = csv.actions.copy()
    a.insert(1, "index", a.groupby("video_id").cumcount().astype(np.int64))
    videos["num_annotations"] = videos["video_id"].map(a.groupby("video_id").size()).fillna(0).astype(int)
    return AnnotationTable(csv.path, videos, a[["video_id", "index", "t_start", "t_end", "label", "label_id"]])


def load_mr(cfg: DataConfig, split: str, log: IssueLog) -> TaskAnnotations:
    mr = cfg.mr
    assert mr is not None
    path = annotation_file(mr, split, "mr")
    zero = zero_length_policy(cfg, "mr")
    videos: dict[str, VideoAnnotation] = {}
    if mr.format == "captions":
        df = read_captions(path)
        if len(df) == 0:
            raise DataError(path, f"split {split}", "no sentences")
        for vid, g in _grouped(df).items():
            duration = check_duration(str(path), vid, float(g["duration"][0]))
            texts = g["sentence"].tolist()
            segs = _segments(g)
            segs, keep = sanitise_segments(
                str(path), vid, segs, duration, log, swap_reversed=True, zero_length=zero,
                clip=cfg.clip_to_duration, names=[f"query {i}" for i in range(len(texts))],
            )  # fmt: skip
            labels = np.arange(len(texts), dtype=np.int64)
            videos[vid] = VideoAnnotation(vid, duration, None, segs[keep], labels[keep], texts, {})
        return TaskAnnotations("mr", str(path), split, dict(sorted(videos.items())))
    table = read_database(path)
    subset = mr.subsets.get(split, default_subset(cfg.adapter, "mr", split))
    table = _filter_subset(table, subset, split)
    groups = _grouped(table.annotations)
    text_col = "query" if "query" in table.annotations else "label"
    for vid, duration, fps in zip(table.videos["video_id"], table.videos["duration"], table.videos["fps"]):
        duration = check_duration(table.path, vid, duration)
        g = groups.get(vid)
        if g is None:
            videos[vid] = VideoAnnotation(vid, duration, _fps(fps), np.zeros((0, 2)), np.zeros(0, np.int64))
            continue
        if text_col not in g or pd.isna(g[text_col]).any():
            i = int(g["index"][pd.isna(g[text_col])][0]) if text_col in g else 0
            raise DataError(table.path, f"video {vid}, query {i}", f"annotation lacks the sentence field {text_col!r}")
        texts = [str(t) for t in g[text_col]]
        meta = {k: g[k].tolist() for k in ("annotation_uid", "annotation_idx") if k in g}
        has_seg = ~pd.isna(g["t_start"])
        if has_seg.any() and not has_seg.all():
            i = int(g["index"][~has_seg][0])
            raise DataError(table.path, f"video {vid}, query {i}", "query without 'segment' among queries with one")
        labels = g["index"].astype(np.int64)
        segs = _segments(g)
        if not has_seg.any():  # test split: queries only
            segs, labels = np.zeros((0, 2)), np.zeros(0, np.int64)
        segs, keep = sanitise_segments(
            table.path, vid, segs, duration, log, swap_reversed=True, zero_length=zero,
            clip=cfg.clip_to_duration, names=[f"query {i}" for i in labels],
        )  # fmt: skip
        if zero == "keep":
            meta["zero_length"] = [False] * len(texts)
            for lab, (s, e) in zip(labels, segs):
                meta["zero_length"][lab] = bool(e - s <= 0)
        videos[vid] = VideoAnnotation(vid, duration, _fps(fps), segs[keep], labels[keep], texts, meta)
    return TaskAnnotations("mr", table.path, split, dict(sorted(videos.items())))
