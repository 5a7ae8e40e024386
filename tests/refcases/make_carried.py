"""Rebuild this folder (the reference cases carried in the repository) from the full reference cases.

    python tests/refcases/make_carried.py [FULL_REFCASES_DIR]     # default: ../shared/refcases

NMS cases and evaluator edge cases are copied byte for byte. The model case ``charades`` is trimmed to the
tensors the checks read: the video features are replaced by their generator replay (``generated_features`` in
``inputs.json``, checked bit-exact here), and two intermediate tensor groups are left out (``DROPPED``: the
backbone features in eval mode and the neck features in train mode; the head outputs downstream of both stay).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np

from unimd_lib.formats.arrays import write_npz_atomic
from unimd_lib.formats.files import write_json_atomic
from unimd_lib.parity.inputs import feature_fingerprint, generate_features

HERE = Path(__file__).resolve().parent
MODEL_CASE = "charades"
COPIED = ("nms/inputs.json", "nms/expected.json", "edge_cases.json")
MODEL_FILES = (
    "model_summary.json",
    "recipe/weights_recipe.json",
    "recipe/results.json",
    "recipe/train_grads_small.npz",
    "recipe/train_stochastic_masks.npz",
    "recipe/optim_params_after_3_steps_small.npz",
)
# npz file → key fragments left out (see the module docstring)
DROPPED = {"recipe/eval_outputs.npz": [".backbone.feat."], "recipe/train_outputs.npz": ["neck.feat."]}


def feature_draws(meta: dict, arrays: dict) -> list[dict]:
    """The generator's draw order of refcases/model inputs.json ``seeds``: a common direction (1 × 512), the
    TAD class rows, then per video its features (T × C) and its query rows (M × 512)."""
    draws = [{"shape": [1, 512]}, {"shape": list(arrays["tad_q_feats"].shape)}]
    for v in meta["videos"]:
        c, t = arrays[f"v{v['index']}.feats"].shape
        draws += [{"video": v["index"], "shape": [t, c]}, {"shape": [len(v["mr_queries"]), 512]}]
    return draws


def trim_model_case(src: Path, dst: Path) -> None:
    meta = json.loads((src / "inputs.json").read_text())
    arrays = dict(np.load(src / "inputs.npz"))
    feats = {v["index"]: arrays.pop(f"v{v['index']}.feats") for v in meta["videos"]}
    meta["generated_features"] = {
        "seed": 1234,
        "rule": "torch.randn(*shape, generator=torch.Generator().manual_seed(seed)) in this order; a video's "
        "features are x / x.norm(dim=1, keepdim=True), transposed to (C, T)",
        "draws": feature_draws(meta, {**arrays, **{f"v{k}.feats": f for k, f in feats.items()}}),
        "fingerprints": {str(k): feature_fingerprint(f) for k, f in feats.items()},
    }
    regenerated = generate_features(meta["generated_features"], src / "inputs.json")
    for k, f in feats.items():
        if not np.array_equal(regenerated[k], f):
            sys.exit(f"v{k}.feats: the generator replay is not bit-exact with this torch build; not trimming")
    write_json_atomic(dst / "inputs.json", meta)
    write_npz_atomic(dst / "inputs.npz", arrays, compressed=True)
    for name in MODEL_FILES:
        (dst / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / name, dst / name)
    for name, fragments in DROPPED.items():
        full = dict(np.load(src / name))
        write_npz_atomic(dst / name, {k: v for k, v in full.items() if not any(f in k for f in fragments)},
                         compressed=True)  # fmt: skip
    write_json_atomic(dst / "carried.json", {"source": f"refcases/model/{src.name}", "dropped": DROPPED})


def main(full: Path) -> None:
    for name in COPIED:
        (HERE / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(full / name, HERE / name)
    trim_model_case(full / "model" / MODEL_CASE, HERE / "model" / MODEL_CASE)
    total = sum(p.stat().st_size for p in HERE.rglob("*") if p.is_file())
    print(f"{HERE}: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[2] / "shared" / "refcases")
