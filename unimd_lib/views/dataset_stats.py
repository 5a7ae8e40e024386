"""Data exploration: what a benchmark holds, per task, as tables (for notebook 01).

``annotation_tables`` reads one split's annotations (seconds) and feature lengths; the summaries and overlap
statistics are plain pandas on top; ``views.dataset_figures`` draws them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from unimd_lib.data.dataset import VideoDataset


@dataclass
class AnnotationTables:
    """``videos``: video_id, duration, fps, num_steps (feature length), has_tad, has_mr.
    ``segments``: task, video_id, label (class id / query position), name (class name / sentence), t_start,
    t_end, length, rel_length (length / duration), rel_center (centre / duration), num_words (MR)."""

    split: str
    videos: pd.DataFrame
    segments: pd.DataFrame


def _name(task: str, label: int, class_names: list[str], texts: list[str]) -> str:
    if task == "mr":
        return texts[label]
    return class_names[label] if label < len(class_names) else f"class {label}"


def _feature_length(dataset: VideoDataset, vid: str) -> int:
    """Number of feature steps, read from the file header only (memory-mapped, nothing loaded)."""
    stream = dataset.feature_streams(vid)[0]
    arr = np.load(stream.path, mmap_mode="r")
    arr = arr["features"] if hasattr(arr, "files") else arr
    return int(arr.shape[0])


def annotation_tables(dataset: VideoDataset, *, feature_lengths: bool = True) -> AnnotationTables:
    """The split of ``dataset`` as two tables (see ``AnnotationTables``)."""
    vids, rows = {}, []
    for task in ("tad", "mr"):
        ann = getattr(dataset, task)
        if ann is None:
            continue
        names = ann.class_names or []
        for vid, a in ann.videos.items():
            v = vids.setdefault(vid, {"video_id": vid, "duration": a.duration, "fps": a.fps, "has_tad": False,
                                      "has_mr": False})  # fmt: skip
            v[f"has_{task}"] = True
            segs = np.asarray(a.segments, dtype=np.float64).reshape(-1, 2)
            for (s, e), label in zip(segs, np.asarray(a.labels).reshape(-1)):
                rows.append((task, vid, int(label), _name(task, int(label), names, a.texts), s, e))
    videos = pd.DataFrame(list(vids.values())).sort_values("video_id", ignore_index=True)
    if feature_lengths and len(videos):
        videos["num_steps"] = [_feature_length(dataset, v) for v in videos["video_id"]]
    seg = pd.DataFrame(rows, columns=["task", "video_id", "label", "name", "t_start", "t_end"])
    dur = seg["video_id"].map(videos.set_index("video_id")["duration"])
    seg["length"] = seg["t_end"] - seg["t_start"]
    seg["rel_length"] = seg["length"] / dur
    seg["rel_center"] = 0.5 * (seg["t_start"] + seg["t_end"]) / dur
    seg["num_words"] = np.where(seg["task"] == "mr", seg["name"].str.split().str.len(), np.nan)
    return AnnotationTables(dataset.split, videos, seg)


def task_summary(tables: AnnotationTables) -> pd.DataFrame:
    """One row per task: videos, segments (queries), per-video counts, durations and segment lengths."""
    out = []
    for task, seg in tables.segments.groupby("task", sort=False):
        per_video = seg.groupby("video_id").size()
        vids = tables.videos[tables.videos[f"has_{task}"]]
        out.append(
            {
                "task": task.upper(),
                "videos": len(vids),
                "segments": len(seg),
                "labels": seg["label"].nunique() if task == "tad" else seg["name"].nunique(),
                "per video (mean)": per_video.mean(),
                "per video (max)": per_video.max(),
                "video duration s (median)": vids["duration"].median(),
                "segment length s (median)": seg["length"].median(),
                "segment / video (median)": seg["rel_length"].median(),
                "zero-length": int((seg["length"] <= 0).sum()),
                "outside [0, duration]": int(
                    ((seg["t_start"] < 0) | (seg["t_end"] > seg["video_id"].map(_durations(tables)))).sum()
                ),
            }
        )
    return pd.DataFrame(out).set_index("task")


def _durations(tables: AnnotationTables) -> pd.Series:
    return tables.videos.set_index("video_id")["duration"]


def class_frequencies(tables: AnnotationTables) -> pd.DataFrame:
    """TAD instances per class, most frequent first (``label, name, count, videos``)."""
    tad = tables.segments[tables.segments["task"] == "tad"]
    g = tad.groupby(["label", "name"])
    out = pd.DataFrame({"count": g.size(), "videos": g["video_id"].nunique()}).reset_index()
    return out.sort_values(["count", "label"], ascending=[False, True], ignore_index=True)


def overlap_statistics(tables: AnnotationTables) -> pd.DataFrame:
    """Per task: the share of segments that overlap another segment of the same video, of the same class (TAD),
    and the mean of each segment's largest tIoU with another one."""
    out = []
    for task, seg in tables.segments.groupby("task", sort=False):
        any_ov, same_ov, best = [], [], []
        for _, g in seg.groupby("video_id"):
            s, e, lab = g["t_start"].to_numpy(), g["t_end"].to_numpy(), g["label"].to_numpy()
            inter = np.clip(np.minimum(e[:, None], e[None]) - np.maximum(s[:, None], s[None]), 0, None)
            union = (e - s)[:, None] + (e - s)[None] - inter
            tiou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
            np.fill_diagonal(inter, 0)
            np.fill_diagonal(tiou, 0)
            any_ov.append((inter > 0).any(axis=1))
            same_ov.append(((inter > 0) & (lab[:, None] == lab[None])).any(axis=1))
            best.append(tiou.max(axis=1) if len(g) > 1 else np.zeros(len(g)))
        row = {"task": task.upper(), "overlapping another": np.concatenate(any_ov).mean()}
        if task == "tad":
            row["overlapping same class"] = np.concatenate(same_ov).mean()
        row["mean max tIoU with another"] = np.concatenate(best).mean()
        out.append(row)
    return pd.DataFrame(out).set_index("task")


def example_video(tables: AnnotationTables) -> str:
    """A video worth drawing: the first (by id) annotated for both tasks, else the first with segments."""
    both = tables.videos[tables.videos["has_tad"] & tables.videos["has_mr"]]
    if len(both):
        return str(both["video_id"].iloc[0])
    if tables.segments.empty:
        raise ValueError(f"split {tables.split!r} has no annotated video")
    return str(tables.segments["video_id"].min())
