"""Benchmark (a script, not a test): vectorised evaluators vs a plain per-prediction loop restatement.

    python benchmarks/bench_eval.py                      # numpy vs loop baseline, full runs (~10 min)
    python benchmarks/bench_eval.py --baseline skip      # vectorised only
    python benchmarks/bench_eval.py --backend cupy       # numpy vs CuPy (loop baseline skipped unless asked)

1. ANet mAP (10 tIoUs, top-1x/5x recall) on 945,600 predictions: for every validation video of the ANet GT, 100
   proposals (30 % jittered GT, 70 % random; seeded) emitted for the video's top-2 classes (the GT class is top-1
   for 70 % of the videos), score = sqrt(class prob × proposal score) as in UniMD's fusion.
2. Charades official per-frame mAP including the segment → 25-frame conversion, on Charades_v1_test.csv with the
   refcase's segment predictions (40,011 segments; realistic by construction). The loop baseline converts video by
   video and frame by frame, writes and reads the frame-score text as UniMD does, and ranks class by class.

The baselines restate the original algorithms (METRICS.md §1, §2) as straightforward loops; the original itself
is not part of this repository. Each comparison checks that both sides give identical numbers.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from unimd_lib.eval.charades_frames import charades_localize  # noqa: E402
from unimd_lib.eval.detection_gt import read_detection_ground_truth  # noqa: E402
from unimd_lib.eval.detection_map import evaluate_detection  # noqa: E402
from unimd_lib.formats.charades_csv import read_charades_csv  # noqa: E402
from unimd_lib.formats.database import read_database  # noqa: E402
from unimd_lib.formats.predictions import read_predictions  # noqa: E402

ANET_THRESHOLDS = np.linspace(0.5, 0.95, 10)


# ------------------------------------------------------------------------------------------------ inputs
def make_anet_predictions(gt_path: Path, seed: int = 0, n_prop: int = 100, n_classes: int = 200) -> pd.DataFrame:
    t = read_database(gt_path).subset("validation")
    rng = np.random.default_rng(seed)
    vids, dur = t.videos["video_id"].to_numpy(), t.videos["duration"].to_numpy()
    first = t.annotations.groupby("video_id", sort=False).first().reindex(vids)
    gs, ge = first["t_start"].to_numpy(), first["t_end"].to_numpy()
    label = np.nan_to_num(first["label_id"].to_numpy(np.float64)).astype(np.int64)
    V, n = len(vids), len(vids) * n_prop
    d = np.repeat(dur, n_prop)
    jitter = rng.random(n) < 0.3
    c = np.where(
        jitter, np.repeat((gs + ge) / 2, n_prop) + rng.normal(0, 0.1, n) * np.repeat(ge - gs, n_prop), rng.random(n) * d
    )
    length = np.where(jitter, np.repeat(ge - gs, n_prop) * rng.uniform(0.7, 1.3, n), rng.uniform(0.05, 0.9, n) * d)
    start = np.clip(c - length / 2, 0, d).astype(np.float32)
    end = np.clip(c + length / 2, 0, d).astype(np.float32)
    prop = np.where(jitter, rng.beta(5, 2, n), rng.beta(2, 5, n)).astype(np.float32).astype(np.float64)
    top1 = np.where(rng.random(V) < 0.7, label, rng.integers(0, n_classes, V))
    top2 = (top1 + rng.integers(1, n_classes, V)) % n_classes
    p1 = rng.uniform(0.5, 0.95, V)
    p2 = rng.uniform(0.01, 1 - p1)
    parts = [
        pd.DataFrame(
            {
                "video_id": np.repeat(vids, n_prop),
                "t_start": start,
                "t_end": end,
                "label": np.repeat(cls, n_prop),
                "score": np.sqrt(np.repeat(p, n_prop) * prop),
            }
        )
        for cls, p in ((top1, p1), (top2, p2))
    ]
    return pd.concat(parts, ignore_index=True)


# ------------------------------------------------------------------------- baseline: ANETdetection as loops
def _dedup(ants, tol=1e-3):
    kept = []
    for ev in ants:
        s, e = ev["segment"]
        if e - s < tol:
            continue
        if any(
            abs(s - k["segment"][0]) <= tol and abs(e - k["segment"][1]) <= tol and ev["label_id"] == k["label_id"]
            for k in kept
        ):
            continue
        kept.append(ev)
    return kept


def _seg_iou(p, gts):
    inter = (np.minimum(p[1], gts[:, 1]) - np.maximum(p[0], gts[:, 0])).clip(0)
    return inter.astype(float) / ((gts[:, 1] - gts[:, 0]) + (p[1] - p[0]) - inter)


def _interp_ap(prec, rec):
    mprec, mrec = np.hstack([[0], prec, [0]]), np.hstack([[0], rec, [1]])
    for i in range(len(mprec) - 1)[::-1]:
        mprec[i] = max(mprec[i], mprec[i + 1])
    idx = np.where(mrec[1::] != mrec[0:-1])[0] + 1
    return np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx])


def _ap_class(gt, pred, thr):
    ap = np.zeros(len(thr))
    if pred.empty:
        return ap
    lock = -np.ones((len(thr), len(gt)))
    pred = pred.loc[pred["score"].values.argsort()[::-1]].reset_index(drop=True)
    tp, fp = np.zeros((len(thr), len(pred))), np.zeros((len(thr), len(pred)))
    by_video = gt.groupby("video-id")
    for idx, row in pred.iterrows():  # one prediction at a time, as the original
        try:
            g = by_video.get_group(row["video-id"]).reset_index()
        except KeyError:
            fp[:, idx] = 1
            continue
        tiou = _seg_iou(row[["t-start", "t-end"]].values, g[["t-start", "t-end"]].values)
        for t, th in enumerate(thr):
            for j in tiou.argsort()[::-1]:
                if tiou[j] < th:
                    fp[t, idx] = 1
                    break
                if lock[t, g.loc[j]["index"]] >= 0:
                    continue
                tp[t, idx] = 1
                lock[t, g.loc[j]["index"]] = idx
                break
            if fp[t, idx] == 0 and tp[t, idx] == 0:
                fp[t, idx] = 1
    tpc, fpc = np.cumsum(tp, axis=1).astype(np.float32), np.cumsum(fp, axis=1).astype(np.float32)
    rec, prec = tpc / float(len(gt)), tpc / (tpc + fpc)
    return np.array([_interp_ap(prec[t], rec[t]) for t in range(len(thr))])


def _topk_class(gt, pred, thr, top_k=(1, 5)):
    rec = np.zeros((len(thr), len(top_k)))
    if pred.empty:
        return rec
    by_video = pred.groupby("video-id")
    for vid, g in gt.groupby("video-id"):
        if vid not in by_video.groups:
            continue
        p = by_video.get_group(vid).reset_index(drop=True)
        p = p.loc[p["score"].values.argsort()[::-1]].reset_index(drop=True).iloc[: max(top_k) * len(g)]
        m = np.stack([_seg_iou(r, g[["t-start", "t-end"]].values) for r in p[["t-start", "t-end"]].values])
        for t, th in enumerate(thr):
            for k, kk in enumerate(top_k):
                rec[t, k] += (m[: kk * len(g)] >= th).any(axis=0).sum()
    return rec / float(len(gt))


def baseline_detection(db: dict, split: str, preds: pd.DataFrame, thr: np.ndarray):
    rows = [
        (vid, ev["segment"][0], ev["segment"][1], ev["label_id"])
        for vid, v in db["database"].items()
        if v["subset"].lower() == split.lower()
        for ev in _dedup(v["annotations"])
    ]
    gt = pd.DataFrame(rows, columns=["video-id", "t-start", "t-end", "label"])
    index = {j: i for i, j in enumerate(sorted(gt["label"].unique()))}
    gt["label"] = gt["label"].replace(index)
    pred = pd.DataFrame(
        {
            "video-id": preds["video_id"].tolist(),
            "t-start": preds["t_start"].astype(float).tolist(),
            "t-end": preds["t_end"].astype(float).tolist(),
            "label": preds["label"].tolist(),
            "score": preds["score"].astype(float).tolist(),
        }
    )
    pred["label"] = pred["label"].replace(index)
    C = len(index)
    ap, rc = np.zeros((len(thr), C)), np.zeros((len(thr), 2, C))
    p_by, g_by = pred.groupby("label"), gt.groupby("label")
    for c in range(C):
        g = g_by.get_group(c).reset_index(drop=True)
        p = p_by.get_group(c).reset_index(drop=True) if c in p_by.groups else pred.iloc[:0]
        ap[:, c], rc[:, :, c] = _ap_class(g, p, thr), _topk_class(g, p, thr)
    m = ap.mean(axis=1)
    return ap, rc, m, m.mean(), rc.mean(axis=2)


# ------------------------------------------------------------------ baseline: Charades per-frame as loops
def baseline_charades(csv_path: Path, preds: pd.DataFrame, frames: int = 25, n_classes: int = 157):
    by_video = {v: g for v, g in preds.groupby("video_id", sort=False)}
    lines = []
    with open(csv_path) as fh:
        gt_rows = list(csv.DictReader(fh))
    for row in gt_rows:  # convert_result_to_charades, video by video, frame by frame
        vid, duration = row["id"], float(row["length"])
        g = by_video.get(vid)
        for i in range(frames):
            t = duration / frames * i
            scores = np.zeros(n_classes, dtype=np.float32)
            if g is not None:
                s, e = g["t_start"].to_numpy(np.float32), g["t_end"].to_numpy(np.float32)
                hit = (s <= np.float32(t)) & (np.float32(t) <= e)
                for c, sc in zip(g["label"].to_numpy()[hit], g["score"].to_numpy(np.float32)[hit]):
                    scores[c] = max(scores[c], sc)
            lines.append(" ".join(map(str, [vid, i, *(float(x) for x in scores)])))
    with tempfile.TemporaryDirectory() as tmp:  # UniMD writes the text file, the official evaluator reads it
        path = os.path.join(tmp, "frames.txt")
        with open(path, "w") as fh:
            fh.write("\n".join(lines) + "\n")
        sub = pd.read_csv(path, header=None, sep=r"\s+", dtype={0: str})
    table = {f"{v}-{int(f) + 1:03d}": r for v, f, r in zip(sub[0], sub[1], sub.iloc[:, 2:].to_numpy())}
    ids, gt = [], []
    for row in gt_rows:
        acts = [a.split() for a in row["actions"].split(";") if a.strip()]
        for j in range(frames):
            t = (j / frames) * float(row["length"])
            lab = np.zeros(n_classes, dtype=bool)
            for a in acts:
                if float(a[1]) <= t <= float(a[2]):
                    lab[int(a[0][1:])] = True
            ids.append(f"{row['id']}-{j + 1:03d}")
            gt.append(lab)
    conf = np.array([table.get(i, np.full(n_classes, -np.inf)) for i in ids])
    gt = np.array(gt)
    ap = np.zeros(n_classes)
    for c in range(n_classes):  # THUMOSeventclspr, class by class
        order = np.argsort(-conf[:, c])
        tp = gt[order, c]
        prec = np.cumsum(tp) / (np.cumsum(~tp) + np.cumsum(tp))
        s = 0.0
        for k in np.flatnonzero(tp):
            s += prec[k]
        ap[c] = s / tp.sum()
    npos = gt.sum(axis=0)
    return float(np.mean(ap)), float(np.sum(ap * npos) / np.sum(npos))


# ----------------------------------------------------------------------------------------- differential fuzz
def fuzz_detection(n_cases: int, seed: int = 0) -> int:
    """Tiny adversarial inputs (integer segments: equal tIoUs; 6 distinct scores: ties; negative lengths: NaN tIoU;
    near-duplicate and short GT; unknown labels and videos; other split) vectorised vs loop. Returns mismatches."""
    from unimd_lib.eval.detection_gt import detection_ground_truth
    from unimd_lib.formats.database import parse_database

    rng, bad, done = np.random.default_rng(seed), 0, 0
    while done < n_cases:
        labels = rng.choice([0, 2, 3, 7], size=rng.integers(1, 4), replace=False)
        db = {}
        for v in range(rng.integers(1, 5)):
            anns = []
            for _ in range(rng.integers(0, 7)):
                s = float(rng.integers(0, 20))
                e = s + float(rng.integers(0, 8)) + float(rng.choice([0, 0.0005, 0.5]))
                anns.append({"segment": [s, e], "label_id": int(rng.choice(labels))})
            if anns and rng.random() < 0.3:
                anns.append(
                    {
                        "segment": [anns[0]["segment"][0] + 0.0005, anns[0]["segment"][1]],
                        "label_id": anns[0]["label_id"],
                    }
                )
            db[f"v{v}"] = {"subset": str(rng.choice(["validation", "training"], p=[0.85, 0.15])), "annotations": anns}
        obj = {"database": db}
        try:
            gt = detection_ground_truth(parse_database(obj, "fuzz.json"), "validation")
        except ValueError:  # no GT left in the split
            continue
        n = int(rng.integers(1, 60))
        s = rng.integers(0, 20, n).astype(float)
        preds = pd.DataFrame(
            {
                "video_id": [f"v{i}" for i in rng.integers(0, len(db) + 1, n)],
                "t_start": s,
                "t_end": s + rng.integers(-2, 9, n),
                "label": rng.choice([*labels, 1, 5], n),
                "score": rng.choice(np.round(rng.random(6), 2), n),
            }
        )
        thr = [np.linspace(0.5, 0.95, 10), np.linspace(0.1, 0.5, 5), np.linspace(0.3, 0.7, 5)][rng.integers(0, 3)]
        r = evaluate_detection(gt, preds, thr)
        with np.errstate(all="ignore"):
            ref = baseline_detection(obj, "validation", preds, thr)
        bad += not all(np.array_equal(a, b) for a, b in zip(ref, (r.ap, r.recall, r.mAP, r.average_mAP, r.mRecall)))
        done += 1
    return bad


# ------------------------------------------------------------------------------------------------ harness
def timed(fn, repeat=1):
    best, out = None, None
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        best = (wall, cpu) if best is None or wall < best[0] else best
    return out, best


def fmt(t):
    return f"{t[0]:8.3f} s wall ({t[1]:.3f} s CPU)"


def report(name, ref_t, new_t, equal):
    print(f"  {name:34s} {fmt(new_t)}")
    if ref_t is not None:
        print(f"  {'speed-up (wall / CPU)':34s} {ref_t[0] / new_t[0]:8.1f}x / {ref_t[1] / new_t[1]:.1f}x")
    if equal is not None:
        print(f"  {'identical numbers':34s} {equal}")


def bench_anet(shared: Path, backend: str, baseline: str, repeat: int):
    gt_path = shared / "annotations" / "derived" / "anet13_val_derived.json"
    preds = make_anet_predictions(gt_path)
    print(f"\n[ANet mAP] {len(preds):,} predictions ({preds['video_id'].nunique()} videos x 100 proposals x top-2)")

    def vectorised(b):
        gt = read_detection_ground_truth(gt_path, "validation")
        r = evaluate_detection(gt, preds, ANET_THRESHOLDS, backend=b)
        return r.ap, r.recall, r.mAP, r.average_mAP, r.mRecall

    new, new_t = timed(lambda: vectorised("numpy"), repeat)
    print(f"  average mAP {new[3]:.6f}  mAP@0.5 {new[2][0]:.6f}  R1@0.5 {new[4][0, 0]:.6f}")
    ref_t = None
    if baseline == "full":
        import json

        db = json.loads(gt_path.read_text())
        ref, ref_t = timed(lambda: baseline_detection(db, "validation", preds, ANET_THRESHOLDS))
        print(f"  {'loop baseline (GT load + evaluate)':34s} {fmt(ref_t)}")
        same = all(np.array_equal(a, b) for a, b in zip(ref, new))
        diff = max(float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) for a, b in zip(ref, new))
        report("vectorised numpy", ref_t, new_t, f"{same} (max |diff| {diff:.3g})")
    else:
        report("vectorised numpy", None, new_t, None)
    if backend == "cupy":
        gpu, gpu_t = timed(lambda: vectorised("cupy"), repeat)
        report("vectorised cupy (incl. transfers)", new_t, gpu_t, all(np.array_equal(a, b) for a, b in zip(gpu, new)))


def bench_charades(shared: Path, backend: str, baseline: str, repeat: int):
    csv_path = shared / "annotations" / "charades" / "Charades_v1_test.csv"
    preds = read_predictions(shared / "refcases" / "charades_tad" / "predictions.csv", "detection")
    print(f"\n[Charades per-frame mAP incl. segment -> frame conversion] {len(preds):,} segments, 1863 videos")

    def vectorised(b):
        r = charades_localize(read_charades_csv(csv_path), preds, backend=b)
        return r.mAP, r.wAP

    new, new_t = timed(lambda: vectorised("numpy"), repeat)
    print(f"  mAP {new[0]:.17g}  wAP {new[1]:.17g}")
    ref_t = None
    if baseline == "full":
        ref, ref_t = timed(lambda: baseline_charades(csv_path, preds))
        print(f"  {'loop baseline (CSV + convert + AP)':34s} {fmt(ref_t)}")
        report("vectorised numpy", ref_t, new_t, f"{ref == new} (baseline mAP {ref[0]:.17g})")
    else:
        report("vectorised numpy", None, new_t, None)
    if backend == "cupy":
        gpu, gpu_t = timed(lambda: vectorised("cupy"), repeat)
        report("vectorised cupy (incl. transfers)", new_t, gpu_t, gpu == new)


def main(argv=None) -> int:
    repo = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=repo.parent / "shared", help="the shared data folder")
    ap.add_argument("--backend", choices=("numpy", "cupy"), default="numpy")
    ap.add_argument(
        "--baseline",
        choices=("full", "skip"),
        default=None,
        help="run the loop baselines (default: full with numpy, skip with cupy)",
    )
    ap.add_argument("--repeat", type=int, default=3, help="vectorised runs per measurement (best wall time kept)")
    ap.add_argument("--only", choices=("anet", "charades"), default=None)
    ap.add_argument("--fuzz", type=int, default=0, metavar="N", help="only run N random tiny ANet-mAP cross-checks")
    args = ap.parse_args(argv)
    if args.fuzz:
        bad = fuzz_detection(args.fuzz)
        print(f"differential fuzz: {args.fuzz} tiny detection cases, {bad} mismatches vs the loop baseline")
        return int(bad > 0)
    baseline = args.baseline or ("full" if args.backend == "numpy" else "skip")
    print(f"numpy {np.__version__}, pandas {pd.__version__}, {os.cpu_count()} CPUs; backend {args.backend}")
    if args.backend == "cupy":
        import cupy

        name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
        print(f"cupy {cupy.__version__}, device: {name.decode() if isinstance(name, bytes) else name}")
        print("(best of --repeat runs: the first CuPy run also compiles its kernels)")
    if args.only in (None, "anet"):
        bench_anet(args.shared, args.backend, baseline, args.repeat)
    if args.only in (None, "charades"):
        bench_charades(args.shared, args.backend, baseline, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
