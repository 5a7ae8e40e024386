"""Open-vocabulary evaluation of a run trained on the synthetic benchmark made with a real text encoder:

* **paraphrases** — R1@0.5 of the validation sentences as annotated vs their templated rewrites
  (``mr_paraphrases.json``), every text embedded by the run's encoder at evaluation time;
* **zero-shot TAD** — detection mAP (the ``ego4d_mq`` protocol, tIoU 0.1:0.5) per class on ``tad_open.json``,
  whose vocabulary adds the class names held out of training; averaged over seen and over held-out classes,
  next to a content-blind prior baseline for the same classes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from unimd_lib.data.dataset import VideoDataset
from unimd_lib.errors import DataError
from unimd_lib.eval.detection_gt import read_detection_ground_truth
from unimd_lib.eval.detection_map import evaluate_detection
from unimd_lib.formats.files import read_json
from unimd_lib.text import TextEncoder, manifest_for, read_manifest, run_text_encoder
from unimd_lib.train.baseline import _moments, _position_prior, _windows
from unimd_lib.train.query import detect
from unimd_lib.train.run_model import TrainedRun, open_run

MQ_TIOU = np.linspace(0.1, 0.5, 5)


def _bench_folder(trained: TrainedRun) -> Path:
    path = manifest_for(trained.cfg.data)
    if path is None:
        raise DataError(trained.cfg.source, "data", "no text manifest beside the run's embeddings: open-vocabulary "
                        "evaluation needs `unimd make-synthetic --text-encoder minilm` data")  # fmt: skip
    return path.parent


def _top1_iou(dets, segments: np.ndarray) -> np.ndarray:
    """tIoU of each query's best-scored moment with its ground truth (0 when it has none)."""
    out = np.zeros(len(segments))
    for k, (gs, ge) in enumerate(segments):
        sel = np.flatnonzero(dets.labels == k)
        if sel.size == 0:
            continue
        ps, pe = dets.segments[sel[np.argmax(dets.scores[sel])]]
        inter = max(0.0, min(pe, ge) - max(ps, gs))
        out[k] = inter / max(max(pe, ge) - min(ps, gs), 1e-9)
    return out


def paraphrase_recall(trained: TrainedRun, encoder: TextEncoder, *, threshold: float = 0.5) -> pd.DataFrame:
    """One row per validation query and text version (``original``, ``rewrite 1``…): ``video_id, query_index,
    version, text, iou, hit`` (top-1 tIoU ≥ ``threshold``)."""
    rewrites = read_json(_bench_folder(trained) / "mr_paraphrases.json")
    data = trained.cfg.data
    ds = VideoDataset(data, data.val_split, "mr", training=False)
    rows = []
    for vid in ds.video_ids:
        video = ds.record(vid)
        if video.mr is None or vid not in rewrites:
            continue
        gt = np.asarray(ds.mr.videos[vid].segments, np.float64).reshape(-1, 2)
        versions = {"original": (video.mr.embeddings, video.mr.texts)}
        for r in range(len(rewrites[vid][0])):
            texts = [per_query[r] for per_query in rewrites[vid]]
            versions[f"rewrite {r + 1}"] = (encoder.encode(texts), texts)
        for name, (emb, texts) in versions.items():
            iou = _top1_iou(detect(trained, video, emb, texts), gt)
            rows += [(vid, k, name, texts[k], iou[k], iou[k] >= threshold) for k in range(len(texts))]
    return pd.DataFrame(rows, columns=["video_id", "query_index", "version", "text", "iou", "hit"])


def _prior_tad(train: VideoDataset, gt_videos: dict, classes: list[int], num_known: int) -> pd.DataFrame:
    """The content-blind prior for ``classes``: per-class training mean length and frequency for trained classes,
    the mean over all training moments and an even share for classes it never saw."""
    m = _moments(train, "tad")
    prior, freq = _position_prior(m), m["label"].value_counts(normalize=True)
    lengths = m.groupby("label")["length"].mean()
    rows = []
    for vid, duration in gt_videos.items():
        for c in classes:
            known = c < num_known and c in lengths.index
            length = float(lengths[c]) if known else float(m["length"].mean())
            segs, score = _windows(duration, length, prior)
            share = float(freq[c]) if known else 1.0 / (num_known + 1)
            rows.append(pd.DataFrame({"video_id": vid, "t_start": segs[:, 0], "t_end": segs[:, 1], "label": c,
                                      "score": score * share}))  # fmt: skip
    return pd.concat(rows, ignore_index=True)


def zero_shot_tad(trained: TrainedRun, encoder: TextEncoder) -> dict[str, float]:
    """Average mAP (tIoU 0.1:0.5) over seen and over held-out classes, for the run and the prior baseline."""
    folder = _bench_folder(trained)
    _, manifest = read_manifest(folder / "manifest.json")
    classes, held = list(manifest["classes"]), set(manifest["held_out"])
    gt = read_detection_ground_truth(folder / "tad_open.json", "validation")
    data = trained.cfg.data
    ds = VideoDataset(data, data.val_split, "tad", training=False)
    emb = encoder.encode(classes)
    parts = []
    for vid in sorted(set(gt.video_id)):
        d = detect(trained, ds.record(vid), emb, classes, task="tad")
        parts.append(pd.DataFrame({"video_id": vid, "t_start": d.segments[:, 0], "t_end": d.segments[:, 1],
                                   "label": d.labels, "score": d.scores}))  # fmt: skip
    model_ap = evaluate_detection(gt, pd.concat(parts, ignore_index=True), MQ_TIOU).ap
    train = VideoDataset(data, data.train_split, "tad", check_files=False)
    durations = {v: a.duration for v, a in ds.tad.videos.items() if v in set(gt.video_id)}
    prior_ap = evaluate_detection(gt, _prior_tad(train, durations, list(range(len(classes))), data.tad.num_classes),
                                  MQ_TIOU).ap  # fmt: skip
    is_held = np.array([classes[c] in held for c in gt.class_label_ids])
    out = {}
    for name, ap in (("model", model_ap), ("prior_baseline", prior_ap)):
        out[f"{name}/seen_mAP"] = float(ap[:, ~is_held].mean())
        out[f"{name}/held_out_mAP"] = float(ap[:, is_held].mean())
    return out


def open_vocabulary_report(run_dir: str | os.PathLike | TrainedRun, *, checkpoint: str = "best") -> dict:
    """Both evaluations of a run: ``{"paraphrases": table, "R1@0.5": {version: value}, "zero_shot": {...}}``
    (``zero_shot`` only when the run trained TAD and the benchmark holds classes out)."""
    trained = run_dir if isinstance(run_dir, TrainedRun) else open_run(run_dir, checkpoint=checkpoint)
    encoder = run_text_encoder(trained.run.root)
    out: dict = {}
    if trained.info["task"] in ("mr", "all"):
        table = paraphrase_recall(trained, encoder)
        out["paraphrases"] = table
        r1 = table.groupby("version")["hit"].mean()
        out["R1@0.5"] = {"original": float(r1["original"]),
                         "paraphrases": float(table.loc[table.version != "original", "hit"].mean()),
                         **{k: float(v) for k, v in r1.items() if k != "original"}}  # fmt: skip
    if trained.info["task"] in ("tad", "all") and (_bench_folder(trained) / "tad_open.json").is_file():
        out["zero_shot"] = zero_shot_tad(trained, encoder)
    return out
