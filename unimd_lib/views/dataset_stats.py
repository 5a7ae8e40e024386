"""Data exploration: what one split of a benchmark holds, per task, as tables (for notebook 01).

``annotation_tables`` reads one split's annotations (seconds) and, where the files exist, feature lengths; the
summaries, class / word frequencies, overlaps and the TAD-vs-MR comparison are plain pandas on top;
``views.dataset_explore`` does it for every split of a config, ``views.dataset_figures`` draws them.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from unimd_lib.data.dataset import VideoDataset

# left out of the most-frequent-words table: they top every query set and say nothing about the benchmark
_STOP = (
    "a an the i my me we our you your he she it its they them their this that these those is are was were be "
    "been am do did does done have has had of to in on at by for from with into onto off up down out over under "
    "and or but as so if than then there here what where when which who whom whose why how any some all while "
    "after before again just not no did s"
)
STOP_WORDS = frozenset(_STOP.split(" "))


@dataclass
class AnnotationTables:
    """``videos``: video_id, duration, fps, has_tad, has_mr, mr_queries (sentences, with or without a segment),
    has_features and num_steps (feature length; NaN where the file is absent).
    ``segments``: task, video_id, label (class id / query position), name (class name / sentence), t_start,
    t_end, length, rel_length (length / duration), rel_start, rel_center (/ duration), num_words (MR), and per
    segment: overlaps (another segment of the same task and video intersects it), overlaps_same (one of the
    same class, TAD), max_tiou (its largest tIoU with another one)."""

    split: str
    videos: pd.DataFrame
    segments: pd.DataFrame

    def task(self, task: str) -> pd.DataFrame:
        return self.segments[self.segments["task"] == task]


def _names(task: str, a, class_names: list[str]) -> list[str]:
    if task == "mr":
        return [a.texts[int(lab)] for lab in a.labels]
    if "class_name" in a.meta:  # class-agnostic config: the file's own classes (ANet)
        return list(a.meta["class_name"])
    return [class_names[lab] if lab < len(class_names) else f"class {lab}" for lab in a.labels]


def _feature_length(dataset: VideoDataset, vid: str) -> float:
    """Number of feature steps, read from the file header only (memory-mapped, nothing loaded)."""
    arr = np.load(dataset.feature_streams(vid)[0].path, mmap_mode="r")
    arr = arr["features"] if hasattr(arr, "files") else arr
    return float(arr.shape[0])


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
                                      "has_mr": False, "mr_queries": 0})  # fmt: skip
            v[f"has_{task}"] = True
            if task == "mr":
                v["mr_queries"] = len(a.texts)
            segs = np.asarray(a.segments, dtype=np.float64).reshape(-1, 2)
            labels = np.asarray(a.labels).reshape(-1)
            for (s, e), label, name in zip(segs, labels, _names(task, a, names)):
                rows.append((task, vid, int(label), name, s, e))
    columns = ["video_id", "duration", "fps", "has_tad", "has_mr", "mr_queries"]
    videos = pd.DataFrame(list(vids.values()), columns=columns).sort_values("video_id", ignore_index=True)
    videos["has_features"] = [dataset.has_features(v) for v in videos["video_id"]] if feature_lengths else False
    videos["num_steps"] = [
        _feature_length(dataset, v) if has else np.nan for v, has in zip(videos["video_id"], videos["has_features"])
    ]
    seg = pd.DataFrame(rows, columns=["task", "video_id", "label", "name", "t_start", "t_end"])
    dur = seg["video_id"].map(videos.set_index("video_id")["duration"])
    seg["length"] = seg["t_end"] - seg["t_start"]
    seg["rel_length"] = seg["length"] / dur
    seg["rel_start"] = seg["t_start"] / dur
    seg["rel_center"] = 0.5 * (seg["t_start"] + seg["t_end"]) / dur
    seg["num_words"] = np.where(seg["task"] == "mr", seg["name"].str.split().str.len(), np.nan)
    _add_overlaps(seg)
    return AnnotationTables(dataset.split, videos, seg)


def _tiou(s: np.ndarray, e: np.ndarray, s2: np.ndarray, e2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise intersection [len(s), len(s2)] and tIoU (0 where the union is empty)."""
    inter = np.clip(np.minimum(e[:, None], e2[None]) - np.maximum(s[:, None], s2[None]), 0, None)
    union = (e - s)[:, None] + (e2 - s2)[None] - inter
    return inter, np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _add_overlaps(seg: pd.DataFrame) -> None:
    """Per segment, against the other segments of the same task and video (one pass over the groups)."""
    over = np.zeros(len(seg), bool)
    same = np.zeros(len(seg), bool)
    best = np.zeros(len(seg))
    cols = [seg[c].to_numpy() for c in ("t_start", "t_end", "label")]
    for idx in seg.groupby(["task", "video_id"], sort=False).indices.values():
        if len(idx) < 2:
            continue
        s, e, lab = (c[idx] for c in cols)
        inter, tiou = _tiou(s, e, s, e)
        np.fill_diagonal(inter, 0)
        np.fill_diagonal(tiou, 0)
        over[idx] = (inter > 0).any(axis=1)
        same[idx] = ((inter > 0) & (lab[:, None] == lab[None])).any(axis=1)
        best[idx] = tiou.max(axis=1)
    seg["overlaps"], seg["overlaps_same"], seg["max_tiou"] = over, same, best


def task_summary(tables: AnnotationTables) -> pd.DataFrame:
    """One row per task: videos, segments, queries / classes, per-video counts, durations and segment lengths."""
    out = []
    dur = tables.videos.set_index("video_id")["duration"]
    for task in ("tad", "mr"):
        vids = tables.videos[tables.videos[f"has_{task}"]]
        if vids.empty:
            continue
        seg = tables.task(task)
        per_video = seg.groupby("video_id").size().reindex(vids["video_id"], fill_value=0)
        out.append(
            {
                "task": task.upper(),
                "videos": len(vids),
                "segments": len(seg),
                "queries": int(vids["mr_queries"].sum()) if task == "mr" else np.nan,
                "classes": seg["name"].nunique() if task == "tad" else np.nan,
                "videos without segments": int((per_video == 0).sum()),
                "per video (mean)": per_video.mean(),
                "per video (max)": per_video.max(),
                "video duration s (median)": vids["duration"].median(),
                "segment length s (median)": seg["length"].median(),
                "segment / video (median)": seg["rel_length"].median(),
                "zero-length": int((seg["length"] <= 0).sum()),
                "outside [0, duration]": int(((seg["t_start"] < 0) | (seg["t_end"] > seg["video_id"].map(dur))).sum()),
            }
        )
    return pd.DataFrame(out).set_index("task")


def class_frequencies(tables: AnnotationTables) -> pd.DataFrame:
    """TAD instances per class, most frequent first, ties by name (``name, count, videos, share``): the long tail."""
    tad = tables.task("tad")
    g = tad.groupby("name")
    out = pd.DataFrame({"count": g.size(), "videos": g["video_id"].nunique()}).reset_index()
    out = out.sort_values(["count", "name"], ascending=[False, True], ignore_index=True)
    out["share"] = out["count"] / max(len(tad), 1)
    return out


def word_frequencies(tables: AnnotationTables, top: int = 25, stop_words=STOP_WORDS) -> pd.DataFrame:
    """The most frequent words of the MR queries (lower-cased, ``stop_words`` left out): ``word, count,
    queries`` (number of queries using it at least once)."""
    count: Counter[str] = Counter()
    queries: Counter[str] = Counter()
    for text in tables.task("mr")["name"]:
        words = [w for w in re.findall(r"[a-z][a-z']*", str(text).lower()) if w not in stop_words]
        count.update(words)
        queries.update(set(words))
    rows = [(w, n, queries[w]) for w, n in count.most_common(top)]
    return pd.DataFrame(rows, columns=["word", "count", "queries"])


def overlap_statistics(tables: AnnotationTables) -> pd.DataFrame:
    """Per task: the share of segments that overlap another segment of the same video, of the same class (TAD),
    and the mean of each segment's largest tIoU with another one."""
    out = []
    for task in ("tad", "mr"):
        seg = tables.task(task)
        if seg.empty:
            continue
        row = {"task": task.upper(), "overlapping another": seg["overlaps"].mean()}
        if task == "tad":
            row["overlapping same class"] = seg["overlaps_same"].mean()
        row["mean max tIoU with another"] = seg["max_tiou"].mean()
        out.append(row)
    return pd.DataFrame(out).set_index("task")


def pairing_summary(tables: AnnotationTables) -> pd.DataFrame:
    """TAD vs MR on one benchmark: how many videos carry one task or both, segment lengths side by side, and,
    in the videos with both, the share of MR moments that overlap a TAD segment (same moments or not)."""
    v = tables.videos
    rows = {
        "videos TAD only": int((v["has_tad"] & ~v["has_mr"]).sum()),
        "videos MR only": int((v["has_mr"] & ~v["has_tad"]).sum()),
        "videos with both": int((v["has_tad"] & v["has_mr"]).sum()),
    }
    tad, mr = tables.task("tad"), tables.task("mr")
    for name, seg in (("TAD", tad), ("MR", mr)):
        rows[f"{name} segment length s (median)"] = seg["length"].median()
        rows[f"{name} segment / video (median)"] = seg["rel_length"].median()
    hit, best, n = 0, [], 0
    tad_by_video = tad.groupby("video_id").indices
    for vid, idx in mr.groupby("video_id").indices.items():
        if vid not in tad_by_video:
            continue
        t = tad.iloc[tad_by_video[vid]]
        m = mr.iloc[idx]
        ends = (m["t_start"].to_numpy(), m["t_end"].to_numpy(), t["t_start"].to_numpy(), t["t_end"].to_numpy())
        inter, tiou = _tiou(*ends)
        hit += int((inter > 0).any(axis=1).sum())
        best.append(tiou.max(axis=1))
        n += len(m)
    rows["MR moments in shared videos"] = n
    rows["… overlapping a TAD segment"] = hit / n if n else np.nan
    rows["… mean best tIoU with a TAD segment"] = float(np.concatenate(best).mean()) if best else np.nan
    return pd.Series(rows, name=tables.split).to_frame()


def example_video(tables: AnnotationTables) -> str:
    """A video worth drawing: the first (by id) annotated for both tasks and having features, else the first
    with segments (and features, when any video has them)."""
    v = tables.videos
    pool = v[v["has_features"]] if v["has_features"].any() else v
    both = pool[pool["has_tad"] & pool["has_mr"]]
    if len(both):
        return str(both["video_id"].iloc[0])
    with_segments = tables.segments[tables.segments["video_id"].isin(pool["video_id"])]
    if with_segments.empty:
        raise ValueError(f"split {tables.split!r} has no annotated video")
    return str(with_segments["video_id"].min())
