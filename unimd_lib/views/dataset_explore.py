"""A benchmark from its annotation files alone: every split a config names, read once each, with what is
missing said rather than raised (features and text embeddings are optional here; notebook 01).

    bench = explore_benchmark(cfg)          # cfg: a loaded Config (preset + data_root)
    split_summary(bench)                    # videos / segments / queries / classes per split and task
    tables = bench.tables()                 # one split's AnnotationTables (default: the training split)

The readers are the training ones (``VideoDataset`` in its annotations-only mode, ``require_features=False``):
same checks, same numbers, nothing read twice by a second code path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from unimd_lib.config.data import ANY_SPLIT, DataConfig
from unimd_lib.config.data_root import layout_hint
from unimd_lib.config.load import Config
from unimd_lib.data.dataset import VideoDataset
from unimd_lib.errors import DataError
from unimd_lib.views.dataset_stats import AnnotationTables, annotation_tables, task_summary


@dataclass
class BenchmarkTables:
    """``splits``: split → tables, for every split with at least one annotation file; ``datasets``: the
    annotations-only ``VideoDataset`` of each; ``missing``: (split, task, file) of annotation files not found."""

    name: str
    data: DataConfig
    splits: dict[str, AnnotationTables]
    datasets: dict[str, VideoDataset]
    missing: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def default_split(self) -> str:
        """The training split when all of its files are there, else the split with the most tasks."""

        def tasks(s: str) -> int:
            return int(self.datasets[s].tad is not None) + int(self.datasets[s].mr is not None)

        best = max(self.splits, key=tasks)
        train = self.data.train_split
        return train if train in self.splits and tasks(train) == tasks(best) else best

    def tables(self, split: str | None = None) -> AnnotationTables:
        split = split or self.default_split
        if split not in self.splits:
            raise KeyError(f"split {split!r} has no annotation file here; splits: {list(self.splits)}")
        return self.splits[split]

    def feature_note(self, split: str | None = None) -> str | None:
        """Why feature lengths are missing for ``split`` (None: every video has its features)."""
        split = split or self.default_split
        v = self.splits[split].videos
        have = int(v["has_features"].sum())
        if have == len(v):
            return None
        ds = self.datasets[split]
        example = ds.feature_streams(str(v.loc[~v["has_features"], "video_id"].iloc[0]))[0].path
        if have == 0:
            return f"no feature files for split {split!r}: e.g. {example} is absent (annotations only)"
        return f"{len(v) - have} of {len(v)} videos of split {split!r} lack feature files (e.g. {example})"


def config_splits(data: DataConfig) -> list[str]:
    """Train, validation and test split, then any other split an annotation mapping names, in that order."""
    out = [data.train_split, data.val_split, data.test_split]
    for files in (data.tad, data.mr):
        if files is not None:
            out += [s for s in files.annotations if s != ANY_SPLIT]
    return [s for s in dict.fromkeys(out) if s]


def _task_files(data: DataConfig, split: str) -> dict[str, Path]:
    out = {}
    for task in ("tad", "mr"):
        files = getattr(data, task)
        if files is not None:
            path = files.annotations.get(split, files.annotations.get(ANY_SPLIT))
            if path is not None:
                out[task] = Path(path)
    return out


def explore_benchmark(cfg: Config, splits: list[str] | None = None, *, feature_lengths: bool = True) -> BenchmarkTables:
    """Every split of ``cfg`` (or ``splits``) whose annotation files exist, as tables; a DataError naming the
    expected folder when none exists."""
    data = cfg.data
    tables, datasets, missing = {}, {}, []
    for split in splits or config_splits(data):
        files = _task_files(data, split)
        present = [t for t, p in files.items() if p.is_file()]
        missing += [(split, t.upper(), str(p)) for t, p in files.items() if t not in present]
        if not present:
            continue
        ds = VideoDataset(data, split, "all" if len(present) == 2 else present[0], require_features=False)
        datasets[split] = ds
        tables[split] = annotation_tables(ds, feature_lengths=feature_lengths)
    missing_df = pd.DataFrame(missing, columns=["split", "task", "file"])
    if not tables:
        first = missing_df["file"].iloc[0] if len(missing_df) else None
        raise DataError(first, None, f"no annotation file found; {layout_hint(data, cfg.data_base)}")
    bench = BenchmarkTables(cfg.name, data, tables, datasets, missing_df)
    bench.notes = _notes(bench)
    return bench


def _notes(bench: BenchmarkTables) -> list[str]:
    notes = [f"{r.task} annotations of split {r.split!r} not found: {r.file}" for r in bench.missing.itertuples()]
    tad = bench.data.tad
    if tad is not None and not Path(tad.class_embeddings).is_file():
        notes.append(f"TAD class embeddings not found: {tad.class_embeddings} (not needed to explore annotations)")
    for split in bench.splits:
        note = bench.feature_note(split)
        if note:
            notes.append(note)
    return notes


def split_summary(bench: BenchmarkTables) -> pd.DataFrame:
    """One row per (split, task): the counts of ``task_summary`` for every split read."""
    parts = []
    for split, t in bench.splits.items():
        s = task_summary(t).reset_index()
        s.insert(0, "split", split)
        s["with features"] = [int(t.videos.loc[t.videos[f"has_{x.lower()}"], "has_features"].sum()) for x in s["task"]]
        parts.append(s)
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    for col in ("queries", "classes"):
        out[col] = out[col].astype("Int64") if col in out and out[col].notna().any() else out.get(col, np.nan)
    return out.set_index(["split", "task"])
