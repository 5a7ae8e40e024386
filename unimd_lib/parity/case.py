"""A parity reference case (refcases/model/<case>/): its config, inputs and recipe weights, as our objects."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from unimd_lib.config.model import ModelConfig
from unimd_lib.data.batch import Batch
from unimd_lib.data.collate import collate
from unimd_lib.data.record import TaskQueries, VideoQueries
from unimd_lib.errors import NotFoundError
from unimd_lib.model.original import from_original
from unimd_lib.model.unimd import UniMD
from unimd_lib.parity.inputs import generate_features
from unimd_lib.parity.recipe import iter_recipe_arrays, read_recipe

TASK_KEYS = ("tad", "mr")


@dataclass
class Case:
    """One case directory: ``summary`` (model_summary.json), ``records`` (the 2 videos), ``variant`` dir."""

    root: Path
    summary: dict
    config: ModelConfig
    records: list[VideoQueries]
    variant: str = "recipe"

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def variant_dir(self) -> Path:
        return self.root / self.variant

    @property
    def opt(self) -> dict:
        return self.summary["opt"]

    def batch(self, indices: list[int], *, training: bool, tasks: tuple[str, ...] = TASK_KEYS) -> Batch:
        """Collated batch of the given videos carrying ``tasks`` (padding as the original: §3.1)."""
        recs = []
        for i in indices:
            r = self.records[i]
            recs.append(
                VideoQueries(
                    r.video_id,
                    r.feats,
                    r.fps,
                    r.duration,
                    r.feat_stride,
                    r.num_frames,
                    tad=r.tad if "tad" in tasks else None,
                    mr=r.mr if "mr" in tasks else None,
                )
            )
        return collate(recs, max_seq_len=self.config.max_seq_len, training=training)


def load_case(root: str | Path, variant: str = "recipe") -> Case:
    """Read ``model_summary.json``, ``inputs.json`` and ``inputs.npz`` of a case directory (video features
    missing from ``inputs.npz`` are regenerated from ``inputs.json``'s ``generated_features``)."""
    root = Path(root)
    if not (root / "model_summary.json").is_file():
        raise NotFoundError(root, "model_summary.json", "not found (not a model parity case folder)")
    summary = json.loads((root / "model_summary.json").read_text(encoding="utf-8"))
    config = ModelConfig.from_dict(
        summary["cfg_model"], summary["train_cfg"], summary["test_cfg"], path=root / "model_summary.json"
    )
    meta = json.loads((root / "inputs.json").read_text(encoding="utf-8"))
    arrays = dict(np.load(root / "inputs.npz"))
    if "generated_features" in meta:
        generated = generate_features(meta["generated_features"], root / "inputs.json")
        arrays.update({f"v{v}.feats": f for v, f in generated.items()})
    tad_q = arrays["tad_q_feats"].astype(np.float32)
    class_names = [f"class {k}" for k in range(tad_q.shape[0])]
    records = []
    for v in meta["videos"]:
        p = f"v{v['index']}."
        tad = TaskQueries(tad_q, class_names, arrays[p + "tad_segments"], arrays[p + "tad_labels"])
        mr = TaskQueries(
            arrays[p + "mr_q_feats"].astype(np.float32),
            list(v["mr_queries"]),
            arrays[p + "mr_segments"],
            arrays[p + "mr_labels"],
        )
        records.append(
            VideoQueries(
                v["video_id"],
                arrays[p + "feats"].astype(np.float32),
                float(v["fps"]),
                float(v["duration_sec"]),
                float(v["feat_stride"]),
                float(v["feat_num_frames"]),
                tad=tad,
                mr=mr,
            )
        )
    return Case(root, summary, config, records, variant)


def recipe_state(case: Case) -> dict[str, torch.Tensor]:
    """The recipe weights under their ORIGINAL names (int buffers, e.g. num_batches_tracked, stay 0)."""
    entries = read_recipe(case.variant_dir / "weights_recipe.json")
    state = {name: torch.from_numpy(arr) for name, arr in iter_recipe_arrays(entries)}
    for e in entries:
        if e.center is None:
            state[e.name] = torch.zeros(e.shape, dtype=getattr(torch, e.dtype))
    return state


def build_model(case: Case, orig_state: dict[str, torch.Tensor] | None = None) -> UniMD:
    """A fresh model of the case's config with the recipe weights (mapped from the original names)."""
    model = UniMD(case.config)
    state = recipe_state(case) if orig_state is None else orig_state
    model.load_state_dict(from_original(model, state))
    return model
