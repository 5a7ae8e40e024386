"""The embedded synthetic benchmark: a small paired TAD + MR dataset in the released Ego4D on-disk formats.

Generative story (one ``numpy`` generator seeded by ``seed``; files are byte-identical for a seed):

* A vocabulary of ``num_classes`` actions and ``num_attributes`` attributes (manner/place words). Each action
  has a unit *feature signature* s_a ∈ R^C and a unit *text embedding* t_a ∈ R^E; each attribute has v_b and
  u_b likewise. Actions come in families of three whose signatures share a common part (look-alikes).
* A video of T steps (stride 16 at 30 fps, 16-frame windows: duration = 16·T/30 s) holds 1 + Poisson(T/60)
  action instances with distinct (action, attribute) pairs; 70 % are short (2-12 steps, log-uniform), 30 %
  long (12 - T/2 steps); they are placed uniformly, so they may overlap.
  Features: x_t = noise + scene + clutter + Σ_instances env(t)·amp·(s_a + 0.7·v_b), where env ramps over ~1
  step at each boundary, scene is a per-video constant direction, clutter is a few bursts along random
  directions that belong to no action (background look-alikes). ``difficulty`` d ∈ [0, 1]: noise
  0.5 + 3d, amp 1.5 − 0.9d (a nearest-centroid per-step probe scores ≈ 95 / 73 / 32 % for easy / medium /
  hard at the default sizes).
* TAD annotation (``tad.json``): every instance, label = its action. MR (``mr.json``): one NLQ-style question
  per instance, "when did i <action> <attribute>?", in random order (query index = position); its embedding is
  normalise(t_a + 0.6·u_b + 0.3·t_template + noise). So class knowledge from TAD transfers to MR, and MR
  must also read the attribute (the same action occurs with several attributes).
* Each split holds TAD-only, MR-only and both-task videos (35 / 35 / 30 %).
* With a real text encoder (``text_encoder="minilm"``) the texts are embedded by it instead (class names, the
  sentences as written; manifest.json records the recipe), each action's signature is a fixed random map of
  its name's embedding (``data.synthetic_text``), ``held_out`` related class names occur only in validation
  videos (zero-shot TAD: ``tad_open.json``), and every validation sentence has three templated rewrites
  (``mr_paraphrases.json``).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import yaml

from unimd_lib.config.data import DataConfig, MrFiles, TadFiles
from unimd_lib.data import synthetic_text as lang
from unimd_lib.errors import ConfigError, ExistsError
from unimd_lib.formats.arrays import write_npy_atomic, write_npz_atomic
from unimd_lib.formats.features import l2_normalise
from unimd_lib.formats.files import write_text_atomic
from unimd_lib.formats.grid import Grid

FPS, STRIDE, WINDOW = 30.0, 16, 16
DIFFICULTIES = {"easy": 0.2, "medium": 0.5, "hard": 0.8}
ACTIONS = (
    "cut vegetables", "wash dishes", "open a drawer", "pour water", "read a book", "fold clothes",
    "sweep the floor", "type on a laptop", "water plants", "stir a pot", "play guitar", "tie shoelaces",
    "brush teeth", "iron a shirt", "peel a fruit", "paint a wall", "knead dough", "fix a bicycle",
    "write a note", "sew a button", "mop the floor", "wipe a table", "hang laundry", "dig soil",
)  # fmt: skip
ATTRIBUTES = (
    "quickly", "slowly", "with the left hand", "near the window", "in the kitchen", "outside",
    "twice", "with a friend",
)  # fmt: skip
TASK_MIX = (("tad", 0.35), ("mr", 0.35), ("both", 0.30))
TEXT_ENCODERS = ("random", "minilm")


@dataclass(frozen=True)
class SyntheticSpec:
    """Sizes and knobs. ``difficulty`` ∈ [0, 1] (or a name in ``DIFFICULTIES``)."""

    seed: int = 0
    num_videos: int = 200
    val_fraction: float = 0.25
    num_classes: int = 12
    num_attributes: int = 4
    feat_dim: int = 64
    text_dim: int = 128
    min_len: int = 64
    max_len: int = 256
    difficulty: float = 0.5
    max_seq_len: int = 256
    text_encoder: str = "random"
    held_out: int = 0

    def __post_init__(self):
        if not 2 <= self.num_classes <= len(ACTIONS):
            raise ConfigError(None, "num_classes", f"must be in [2, {len(ACTIONS)}]")
        if not 1 <= self.num_attributes <= len(ATTRIBUTES):
            raise ConfigError(None, "num_attributes", f"must be in [1, {len(ATTRIBUTES)}]")
        if not 16 <= self.min_len <= self.max_len <= self.max_seq_len:
            raise ConfigError(None, "min_len", "need 16 <= min_len <= max_len <= max_seq_len")
        if not 0.0 <= self.difficulty <= 1.0:
            raise ConfigError(None, "difficulty", "must be in [0, 1]")
        if self.num_videos < 8:
            raise ConfigError(None, "num_videos", "must be >= 8")
        if not 0 < self.val_fraction < 1:
            raise ConfigError(None, "val_fraction", "must be in (0, 1)")
        if self.text_encoder not in TEXT_ENCODERS:
            raise ConfigError(None, "text_encoder", f"must be one of {TEXT_ENCODERS}, got {self.text_encoder!r}")
        if self.held_out and self.text_encoder == "random":
            raise ConfigError(
                None, "held_out", "held-out classes need a real text encoder (random names carry no meaning)"
            )
        lang.check_vocabulary(ACTIONS[: self.num_classes], self.held_out)

    @property
    def vocabulary(self) -> tuple[str, ...]:
        """Trained class names (ids 0..num_classes-1), then the held-out ones."""
        return ACTIONS[: self.num_classes] + lang.ZERO_SHOT[: self.held_out]


def parse_difficulty(value: str | float) -> float:
    if isinstance(value, str) and value in DIFFICULTIES:
        return DIFFICULTIES[value]
    try:
        return float(value)
    except ValueError:
        names = ", ".join(DIFFICULTIES)
        raise ConfigError(None, "difficulty", f"expected {names} or a number in [0, 1], got {value!r}") from None


@dataclass
class _Instance:
    action: int
    attribute: int
    start: float  # seconds, 2 decimals
    end: float


def _unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    return l2_normalise(rng.standard_normal((n, d)), axis=1)


def _instances(rng: np.random.Generator, spec: SyntheticSpec, length: int, duration: float, n_cls: int) -> list:
    count = min(1 + int(rng.poisson(length / 60)), n_cls * spec.num_attributes)
    pairs: set[tuple[int, int]] = set()
    out = []
    while len(out) < count:
        a, b = int(rng.integers(n_cls)), int(rng.integers(spec.num_attributes))
        if (a, b) in pairs:
            continue
        pairs.add((a, b))
        if rng.random() < 0.7:
            steps = math.exp(rng.uniform(math.log(2), math.log(12)))
        else:
            steps = rng.uniform(12, max(13.0, length / 2))
        seconds = steps * STRIDE / FPS
        start = rng.uniform(0, max(duration - seconds, 0.0))
        out.append(_Instance(a, b, round(start, 2), round(min(start + seconds, duration), 2)))
    return out


def _features(rng, spec: SyntheticSpec, length: int, insts: list[_Instance], sig_a, sig_b) -> np.ndarray:
    d = spec.difficulty
    noise, amp = 0.5 + 3.0 * d, 1.5 - 0.9 * d
    c = spec.feat_dim
    x = noise * rng.standard_normal((length, c)) / math.sqrt(c)
    x += 0.6 * _unit(rng, 1, c)  # scene
    for _ in range(int(rng.integers(0, 4))):  # clutter bursts along non-action directions
        st, ln = int(rng.integers(0, length)), int(rng.integers(2, 12))
        x[st : st + ln] += amp * 0.8 * _unit(rng, 1, c)
    grid = Grid(FPS, STRIDE, WINDOW)
    t = np.arange(length, dtype=np.float64)
    for inst in insts:
        g0, g1 = grid.to_grid(np.array([inst.start, inst.end]))
        env = np.clip(np.minimum(t - g0, g1 - t) + 0.5, 0.0, 1.0)  # ~1-step ramps at the boundaries
        x += env[:, None] * amp * (sig_a[inst.action] + 0.7 * sig_b[inst.attribute])[None, :]
    return x.astype(np.float32)


def _task_kinds(rng: np.random.Generator, n: int) -> list[str]:
    """Exactly round(share·n) videos of each kind (both-task videos take the rounding rest), shuffled."""
    n_tad, n_mr = round(TASK_MIX[0][1] * n), round(TASK_MIX[1][1] * n)
    kinds = np.array(["tad"] * n_tad + ["mr"] * n_mr + ["both"] * (n - n_tad - n_mr))
    return [str(k) for k in kinds[rng.permutation(n)]]


def _sentence(spec: SyntheticSpec, inst: _Instance) -> str:
    return f"when did i {spec.vocabulary[inst.action]} {ATTRIBUTES[inst.attribute]}?"


def _language(encoder, spec: SyntheticSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Real-encoder class embeddings [K+H, E] and signatures of actions [K+H, C] and attributes [A, C]."""
    attrs = ATTRIBUTES[: spec.num_attributes]
    every = encoder.encode([*ACTIONS, *(a for a in lang.ZERO_SHOT if a not in ACTIONS)])
    txt = encoder.encode(list(spec.vocabulary))
    sig_a = lang.signatures(txt, every, spec.feat_dim, spec.seed)
    sig_b = lang.signatures(encoder.encode(list(attrs)), encoder.encode(list(ATTRIBUTES)), spec.feat_dim, spec.seed + 1)
    return txt, sig_a, sig_b


def _data_config(out: Path, spec: SyntheticSpec) -> DataConfig:
    both = {"training": out / "tad.json", "validation": out / "tad.json"}
    return DataConfig(
        adapter="ego4d",
        feat_folder=out / "features",
        input_dim=spec.feat_dim,
        feat_stride=STRIDE,
        num_frames=WINDOW,
        max_seq_len=spec.max_seq_len,
        text_dim=spec.text_dim,
        tad=TadFiles(annotations=both, num_classes=spec.num_classes, class_embeddings=out / "class_embeddings.npz",
                     format="database"),
        mr=MrFiles(annotations={k: out / "mr.json" for k in both}, embedding_folder=out / "mr_embeddings",
                   format="database", text_rule="ego4d"),
    )  # fmt: skip


def generate(
    out_dir: str | os.PathLike, spec: SyntheticSpec = SyntheticSpec(), *, overwrite: bool = False, encoder=None
) -> dict:
    """Write the benchmark to ``out_dir``; returns the summary counts (also in the README card). ``encoder``: an
    already loaded ``spec.text_encoder`` (else it is loaded here, mapped to ``spec.text_dim``)."""
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ExistsError(out, None, "not empty (pass overwrite=True / --overwrite)")
    rng = np.random.default_rng(spec.seed)
    # actions come in families of 3 sharing part of their signature: look-alike classes, as in real data
    family = _unit(rng, -(-spec.num_classes // 3), spec.feat_dim)
    own = _unit(rng, spec.num_classes, spec.feat_dim)
    sig_a = l2_normalise(own + 0.7 * family[np.arange(spec.num_classes) // 3], axis=1)
    sig_b = _unit(rng, spec.num_attributes, spec.feat_dim)
    txt_a, txt_b = _unit(rng, spec.num_classes, spec.text_dim), _unit(rng, spec.num_attributes, spec.text_dim)
    template = _unit(rng, 1, spec.text_dim)[0]
    if spec.text_encoder != "random":
        if encoder is None:
            from unimd_lib.text import load_text_encoder

            encoder = load_text_encoder(spec.text_encoder, output_dim=spec.text_dim)
        if encoder.recipe.output_dim != spec.text_dim:
            raise ValueError(f"the encoder gives {encoder.recipe.output_dim}-d embeddings, text_dim is {spec.text_dim}")
        txt_a, sig_a, sig_b = _language(encoder, spec)
    pending: dict[str, list[str]] = {}  # real encoder: every sentence embedded in one call after the loop
    rewrite_rng, rewrites, open_db = np.random.default_rng([spec.seed, 11]), {}, {}
    text_noise = 0.15 + 0.35 * spec.difficulty
    n_val = max(4, round(spec.num_videos * spec.val_fraction))
    tad_db, mr_db, official = {}, {}, []
    keys = ("tad_only", "mr_only", "both", "instances", "queries")
    counts = {s: dict.fromkeys(keys, 0) for s in ("training", "validation")}
    kinds = [*_task_kinds(rng, spec.num_videos - n_val), *_task_kinds(rng, n_val)]
    for i, kind in enumerate(kinds):
        vid = f"syn{i:05d}"
        subset = "validation" if i >= spec.num_videos - n_val else "training"
        length = int(rng.integers(spec.min_len, spec.max_len + 1))
        duration = round(length * STRIDE / FPS, 2)
        n_cls = spec.num_classes + (spec.held_out if subset == "validation" else 0)  # held out: validation only
        insts = _instances(rng, spec, length, duration, n_cls)
        write_npy_atomic(out / "features" / f"{vid}.npy", _features(rng, spec, length, insts, sig_a, sig_b))
        head = {"subset": subset, "duration": duration, "fps": FPS}
        c = counts[subset]
        c[{"tad": "tad_only", "mr": "mr_only", "both": "both"}[kind]] += 1
        if kind in ("tad", "both"):
            annos = [
                {"label": spec.vocabulary[x.action], "segment": [x.start, x.end],
                 "segment(frames)": [round(x.start * FPS), round(x.end * FPS)], "label_id": x.action}
                for x in sorted(insts, key=lambda x: (x.start, x.end))
            ]  # fmt: skip
            tad_db[vid] = {**head, "annotations": [a for a in annos if a["label_id"] < spec.num_classes]}
            c["instances"] += len(tad_db[vid]["annotations"])
            if spec.held_out and subset == "validation":
                open_db[vid] = {**head, "annotations": annos}
        if kind in ("mr", "both"):
            order = rng.permutation(len(insts))
            uid = f"{vid}-ann"
            qs = [insts[j] for j in order]
            annos = [
                {"query": _sentence(spec, x), "segment": [x.start, x.end],
                 "segment(frames)": [round(x.start * FPS), round(x.end * FPS)], "label_id": k,
                 "annotation_uid": uid, "annotation_idx": k}
                for k, x in enumerate(qs)
            ]  # fmt: skip
            mr_db[vid] = {**head, "annotations": annos}
            texts = [a["query"].strip("?").strip(".") + "?" for a in annos]
            if spec.text_encoder != "random":
                pending[vid] = texts
                if subset == "validation":
                    rewrites[vid] = [lang.paraphrases(spec.vocabulary[x.action], ATTRIBUTES[x.attribute],
                                                      rewrite_rng) for x in qs]  # fmt: skip
            else:
                _random_query_embeddings(out, vid, texts, qs, rng, txt_a, txt_b, template, text_noise, spec)
            c["queries"] += len(annos)
            if subset == "validation":
                official.append(_official_clip(vid, duration, annos))
    if pending:
        _encoded_query_embeddings(out, pending, encoder)
    write_npz_atomic(out / "class_embeddings.npz", {"features": txt_a[: spec.num_classes].astype(np.float32)})
    if spec.text_encoder != "random":
        _write_json(out / "mr_paraphrases.json", rewrites)
        if spec.held_out:
            _write_json(out / "tad_open.json", {"version": "synthetic-v1", "database": open_db})
        from unimd_lib.text import write_manifest

        extra = {"classes": list(spec.vocabulary), "held_out": list(spec.vocabulary[spec.num_classes :])}
        write_manifest(out, encoder.recipe, written_by="unimd make-synthetic", **extra)
        write_manifest(out / "mr_embeddings", encoder.recipe, written_by="unimd make-synthetic")
    _write_json(out / "tad.json", {"version": "synthetic-v1", "database": tad_db})
    _write_json(out / "mr.json", {"version": "synthetic-v1", "database": mr_db})
    _write_json(out / "mr_official_validation.json", {"version": "1", "videos": official})
    cfg = _data_config(out, spec)
    # protocols come from the preset; the ground truth files are these
    eval_section = {"tad_gt": "tad.json", "mr_gt": "mr_official_validation.json"}
    text = yaml.safe_dump(
        {"base": "synthetic", "data": cfg.to_dict(relative_to=out), "eval": eval_section}, sort_keys=False
    )
    write_text_atomic(out / "config.yaml", "# written by `unimd make-synthetic`; paths relative to this file\n" + text)
    write_text_atomic(out / "README.md", _card(spec, counts))
    return counts


def _random_query_embeddings(out: Path, vid, texts, qs, rng, txt_a, txt_b, template, text_noise, spec) -> None:
    emb = np.stack([txt_a[x.action] + 0.6 * txt_b[x.attribute] + 0.3 * template for x in qs])
    emb = l2_normalise(emb + text_noise * rng.standard_normal(emb.shape) / math.sqrt(spec.text_dim), axis=1)
    write_npz_atomic(out / "mr_embeddings" / f"{vid}.npz",
                     {"features": emb.astype(np.float32), "queries": np.array(texts)})  # fmt: skip


def _encoded_query_embeddings(out: Path, pending: dict[str, list[str]], encoder) -> None:
    flat = [t for texts in pending.values() for t in texts]
    emb, start = encoder.encode(flat), 0
    for vid, texts in pending.items():
        part = emb[start : start + len(texts)]
        start += len(texts)
        write_npz_atomic(out / "mr_embeddings" / f"{vid}.npz", {"features": part, "queries": np.array(texts)})


def _official_clip(vid: str, duration: float, annos: list[dict]) -> dict:
    """The clip in the official Ego4D NLQ layout (``nlq_val.json``), one video per clip, for NLQ scoring."""
    queries = [{"clip_start_sec": a["segment"][0], "clip_end_sec": a["segment"][1], "query": a["query"]} for a in annos]
    clip = {"clip_uid": vid, "clip_start_sec": 0.0, "clip_end_sec": duration,
            "annotations": [{"annotation_uid": f"{vid}-ann", "language_queries": queries}]}  # fmt: skip
    return {"video_uid": f"{vid}-video", "clips": [clip]}


def _write_json(path: Path, obj) -> None:
    write_text_atomic(path, json.dumps(obj, indent=1, sort_keys=False) + "\n")


def _card(spec: SyntheticSpec, counts: dict) -> str:
    rows = "\n".join(
        f"| {s} | {c['tad_only']} | {c['mr_only']} | {c['both']} | {c['instances']} | {c['queries']} |"
        for s, c in counts.items()
    )
    knobs = "\n".join(f"| `{f.name}` | {getattr(spec, f.name)} |" for f in fields(spec))
    doc = (__doc__ or "").split("\n\n", 1)[1].split("\n", 1)[1].strip()  # the bullet list
    return f"""# Synthetic UniMD benchmark (seed {spec.seed}, difficulty {spec.difficulty})

A small paired temporal-action-detection + moment-retrieval dataset in the **Ego4D MQ/NLQ on-disk formats**,
made by `unimd make-synthetic`. It is read by the same loaders as the real data (`adapter: ego4d`).

## Files
- `features/<video_id>.npy` — float32 [T, {spec.feat_dim}], stride {STRIDE} frames at {FPS:g} fps
- `tad.json` — TAD annotations, `database` layout, subsets `training` / `validation`, labels 0..{spec.num_classes - 1}
- `mr.json` — MR annotations, `database` layout; sentence under `query`, a query's index = its position
- `class_embeddings.npz` — `features` [{spec.num_classes}, {spec.text_dim}], row = `label_id`
- `mr_embeddings/<video_id>.npz` — `features` [N, {spec.text_dim}], `queries` [N] (row i = query i)
- `mr_official_validation.json` — validation queries in the official Ego4D NLQ layout (for the NLQ metric)
- `config.yaml` — `base: synthetic` plus the `data:` and `eval:` sections pointing at these files

## Sizes
| split | TAD-only videos | MR-only videos | both | TAD instances | MR queries |
|---|---|---|---|---|---|
{rows}

## Generative story
One numpy generator seeded by `seed` drives everything; the same seed and sizes give byte-identical files.

{doc}

## Parameters
| knob | value |
|---|---|
{knobs}
"""


def ensure_generated(out: str | os.PathLike, spec: SyntheticSpec | None = None) -> Path:
    """``out/config.yaml`` of a synthetic benchmark, generating it first when ``out`` holds none (an existing
    benchmark is used as it is, whatever ``spec`` says)."""
    out = Path(out)
    config = out / "config.yaml"
    if not config.exists():
        generate(out, spec or SyntheticSpec())
    return config
