"""``VideoDataset``: one benchmark split as ``VideoQueries`` records, for TAD, MR or both (spec §6.1, §7.1).

Annotations, class embeddings and the existence of every feature / query-embedding file are checked when
the dataset is built (so a missing file fails at start-up, not hours into training); features and MR
embeddings are read lazily, optionally cached in memory. Id lists are sorted, which fixes the original's
``list(set(...))`` order that changed from process to process (spec §6.1 QUIRK, §11 item 11).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unimd_lib.config.data import DataConfig
from unimd_lib.data.benchmarks import load_mr, load_tad
from unimd_lib.data.record import TaskQueries, VideoQueries
from unimd_lib.data.segments import IssueLog, TaskAnnotations, VideoAnnotation
from unimd_lib.errors import ConfigError, DataError
from unimd_lib.formats.embeddings import read_class_embeddings, read_query_embeddings
from unimd_lib.formats.features import Stream, read_feature_streams
from unimd_lib.formats.grid import Grid, downsample, effective_stride, resize_linear, resized_grid

logger = logging.getLogger(__name__)
TASK_SETS = ("tad", "mr", "all")


@dataclass(frozen=True)
class IdLists:
    """Sorted video ids: per task, their union and intersection, and the two differences (spec §7.3)."""

    tad: list[str]
    mr: list[str]

    @property
    def union(self) -> list[str]:
        return sorted(set(self.tad) | set(self.mr))

    @property
    def both(self) -> list[str]:
        return sorted(set(self.tad) & set(self.mr))

    @property
    def tad_only(self) -> list[str]:
        return sorted(set(self.tad) - set(self.mr))

    @property
    def mr_only(self) -> list[str]:
        return sorted(set(self.mr) - set(self.tad))


class VideoDataset:
    """``len`` / ``[i]`` index ``video_ids``: TAD ids (``tasks='tad'``), MR ids (``'mr'``) or their union
    (``'all'``; each video then carries every task it is annotated for).

    ``training`` (default: ``split == cfg.train_split``) enables the training-only behaviour: a task whose
    annotation list is empty is left off the record (the original sets ``segments=None`` and skips it, spec
    §6.1), and ANet's fix of segments past the feature end (spec §6.4). Cropping is not done here (see
    ``data.crop`` / ``data.torch_dataset``). ``check_files=False`` skips the start-up existence check of
    feature / embedding files; a missing file then fails when read. ``require_features=False`` (default: the
    config's ``data.require_features``) is the annotations-only mode of data exploration: no start-up check,
    and the class embeddings are read only if their file exists (else ``class_embeddings`` is None and a
    TAD record fails with the file's name).
    """

    def __init__(
        self,
        cfg: DataConfig,
        split: str,
        tasks: str = "all",
        *,
        training: bool | None = None,
        cache: bool = False,
        check_files: bool = True,
        require_features: bool | None = None,
    ):
        if tasks not in TASK_SETS:
            raise ValueError(f"tasks must be one of {TASK_SETS}, got {tasks!r}")
        self.cfg, self.split, self.tasks = cfg, split, tasks
        self.training = split == cfg.train_split if training is None else training
        self.require_features = cfg.require_features if require_features is None else require_features
        self.issues = IssueLog()
        self._cache: dict[str, object] | None = {} if cache else None
        self.tad: TaskAnnotations | None = None
        self.mr: TaskAnnotations | None = None
        if tasks in ("tad", "all") and cfg.tad is not None:
            self.tad = load_tad(cfg, split, self.issues)
        if tasks in ("mr", "all") and cfg.mr is not None:
            self.mr = load_mr(cfg, split, self.issues)
        if self.training:
            self.tad = _keep_fraction(self.tad, cfg.tad)
            self.mr = _keep_fraction(self.mr, cfg.mr)
        if tasks != "all" and getattr(self, tasks) is None:
            raise ConfigError(None, f"data.{tasks}", f"tasks={tasks!r} needs a '{tasks}' section")
        self.class_embeddings: np.ndarray | None = None
        if self.tad is not None and (self.require_features or Path(cfg.tad.class_embeddings).is_file()):
            t = cfg.tad
            self.class_embeddings = read_class_embeddings(
                t.class_embeddings, num_classes=t.num_classes, dim=cfg.text_dim,
                transposed=t.embeddings_transposed, average=t.average_embeddings,
            )  # fmt: skip
        self.ids = IdLists(list(self.tad.videos) if self.tad else [], list(self.mr.videos) if self.mr else [])
        self.video_ids: list[str] = {"tad": self.ids.tad, "mr": self.ids.mr, "all": self.ids.union}[tasks]
        self._position = {v: i for i, v in enumerate(self.video_ids)}
        if check_files and self.require_features:
            self._check_files()
        self.issues.report(logger, f"{cfg.adapter} {split} ({tasks})")

    # ---- indexing -------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.video_ids)

    def __getitem__(self, index: int) -> VideoQueries:
        return self.record(self.video_ids[index])

    def indices(self, kind: str) -> list[int]:
        """Positions in ``video_ids`` of one id list: tad, mr, union, both, tad_only, mr_only."""
        return [self._position[v] for v in getattr(self.ids, kind) if v in self._position]

    @property
    def class_names(self) -> list[str] | None:
        return None if self.tad is None else self.tad.class_names

    @property
    def num_classes(self) -> int | None:
        return None if self.cfg.tad is None else self.cfg.tad.num_classes

    # ---- files ----------------------------------------------------------------------------------------------
    def feature_streams(self, vid: str) -> list[Stream]:
        cfg = self.cfg
        folder = cfg.feat_folder
        if self.tad is not None and vid in self.tad.videos and cfg.tad.feat_folder is not None:
            folder = cfg.tad.feat_folder  # a video in both tasks uses the TAD file (spec §6.2)
        elif self.mr is not None and vid in self.mr.videos and cfg.mr.feat_folder is not None:
            folder = cfg.mr.feat_folder
        streams = [Stream(folder / cfg.feat_pattern.format(video_id=vid, split=self.split), cfg.feat_dim1)]
        if cfg.feat_folder2 is not None:
            path2 = cfg.feat_folder2 / cfg.feat_pattern2.format(video_id=vid, split=self.split)
            streams.append(Stream(path2, cfg.feat_dim2))
        return streams

    def has_features(self, vid: str) -> bool:
        """Whether every feature file of ``vid`` exists (annotations-only datasets may lack them)."""
        return all(Path(s.path).is_file() for s in self.feature_streams(vid))

    def query_embedding_file(self, vid: str) -> Path:
        mr = self.cfg.mr
        return mr.embedding_folder / mr.embedding_pattern.format(video_id=vid, split=self.split)

    def _check_files(self) -> None:
        missing: list[tuple[Path, str]] = []
        for vid in self.video_ids:
            missing += [(Path(s.path), vid) for s in self.feature_streams(vid) if not Path(s.path).is_file()]
            if self.mr is not None and vid in self.mr.videos and self.mr.videos[vid].texts:
                f = self.query_embedding_file(vid)
                if not f.is_file():
                    missing.append((f, vid))
        if missing:
            path, vid = missing[0]
            more = f" ({len(missing) - 1} more files missing)" if len(missing) > 1 else ""
            raise DataError(path, f"video {vid}", f"file not found{more}")

    def warm_cache(self) -> None:
        """Read every video's features (and MR query embeddings) into the cache now, in this process. Loader
        workers started afterwards inherit the filled cache (shared pages under fork) instead of each reading
        and keeping its own copy."""
        if self._cache is None:
            raise ValueError("warm_cache needs a dataset built with cache=True")
        for vid in self.video_ids:
            self.record(vid)

    # ---- records --------------------------------------------------------------------------------------------
    def _features(self, vid: str) -> np.ndarray:
        if self._cache is not None and ("f", vid) in self._cache:
            return self._cache[("f", vid)]
        feats = downsample(read_feature_streams(self.feature_streams(vid), vid), self.cfg.downsample_rate)
        if self._cache is not None:
            self._cache[("f", vid)] = feats
        return feats

    def _query_embeddings(self, anno: VideoAnnotation) -> np.ndarray:
        key = ("q", anno.video_id)
        if self._cache is not None and key in self._cache:
            return self._cache[key]
        mr = self.cfg.mr
        emb = read_query_embeddings(
            self.query_embedding_file(anno.video_id), anno.video_id, anno.texts,
            rule=mr.text_rule, dim=self.cfg.text_dim, normalise=mr.normalise_embeddings,
        )  # fmt: skip
        if self._cache is not None:
            self._cache[key] = emb
        return emb

    def record(self, vid: str) -> VideoQueries:
        """The record of one video (uncropped)."""
        tad = self.tad.videos.get(vid) if self.tad is not None else None
        mr = self.mr.videos.get(vid) if self.mr is not None else None
        if tad is None and mr is None:
            raise KeyError(f"video {vid!r} is not in {self.cfg.adapter} split {self.split!r}")
        if tad is not None and self.class_embeddings is None:
            raise DataError(self.cfg.tad.class_embeddings, f"video {vid}", "class embeddings: file not found")
        first = tad if tad is not None else mr
        source = self.tad.path if tad is not None else self.mr.path
        fps = self.cfg.default_fps if self.cfg.default_fps is not None else first.fps
        if fps is None or fps <= 0:
            raise DataError(source, f"video {vid}", "no fps in the annotation file and no data.default_fps")
        feats = self._features(vid)
        if self.cfg.force_upsampling:
            feats = resize_linear(feats, self.cfg.max_seq_len)
            grid = resized_grid(first.duration, fps, self.cfg.max_seq_len)
        else:
            grid = Grid(fps, effective_stride(self.cfg.feat_stride, self.cfg.downsample_rate), self.cfg.num_frames)
        length = feats.shape[0]
        tad_q = None if tad is None else self._tad_queries(tad, grid, length)
        mr_q = None if mr is None else self._mr_queries(mr, grid, length)
        return VideoQueries(
            video_id=vid,
            feats=np.ascontiguousarray(feats.T, dtype=np.float32),
            fps=float(fps),
            duration=float(first.duration),
            feat_stride=float(grid.feat_stride),
            num_frames=float(grid.num_frames),
            tad=tad_q,
            mr=mr_q,
        )

    def _past_end_fix(self, segs: np.ndarray, length: int) -> np.ndarray:
        """ANet training only: drop segments starting at/after the feature end, clamp ends (spec §6.4)."""
        if not (self.training and self.cfg.adapter == "anet"):
            return np.ones(len(segs), dtype=bool)
        keep = segs[:, 0] < length
        segs[:, 1] = np.minimum(segs[:, 1], length)
        return keep

    def _tad_queries(self, anno: VideoAnnotation, grid: Grid, length: int) -> TaskQueries | None:
        if self.training and len(anno.segments) == 0:
            return None
        segs = grid.to_grid(anno.segments).reshape(-1, 2)
        keep = self._past_end_fix(segs, length)
        return TaskQueries(
            embeddings=self.class_embeddings,
            texts=list(self.tad.class_names),
            segments=segs[keep].astype(np.float32),
            labels=anno.labels[keep].astype(np.int64),
        )

    def _mr_queries(self, anno: VideoAnnotation, grid: Grid, length: int) -> TaskQueries | None:
        if not anno.texts or (self.training and len(anno.segments) == 0):
            return None
        emb = self._query_embeddings(anno)
        texts, meta = list(anno.texts), {k: list(v) for k, v in anno.meta.items()}
        segs = grid.to_grid(anno.segments).reshape(-1, 2)
        keep = self._past_end_fix(segs, length)
        if not keep.all():  # ANet: the queries go too, labels re-indexed (original behaviour)
            kept_q = anno.labels[keep]
            if len(kept_q) == 0:
                return None
            emb, texts = emb[kept_q], [texts[i] for i in kept_q]
            meta = {k: [v[i] for i in kept_q] for k, v in meta.items()}
            segs, labels = segs[keep], np.arange(len(kept_q), dtype=np.int64)
        else:
            labels = anno.labels.astype(np.int64)
        return TaskQueries(embeddings=emb, texts=texts, segments=segs.astype(np.float32), labels=labels, meta=meta)


SUBSET_SEED = 20240404  # fixed: every run and scheme sees the same low-data subset


def _keep_fraction(annotations: TaskAnnotations | None, files) -> TaskAnnotations | None:
    """The first ceil(fraction·n) videos of one fixed permutation of the sorted ids: nested across fractions."""
    if annotations is None or files.train_fraction >= 1:
        return annotations
    ids = sorted(annotations.videos)
    order = np.random.default_rng(SUBSET_SEED).permutation(len(ids))
    keep = {ids[i] for i in order[: math.ceil(files.train_fraction * len(ids))]}
    videos = {v: a for v, a in annotations.videos.items() if v in keep}
    return dataclasses.replace(annotations, videos=videos)
