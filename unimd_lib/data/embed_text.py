"""Writing text-embedding files with a real encoder, in the layouts the benchmark loaders read:

* a class vocabulary → one ``.npz`` with ``features`` [C, D] (or stored transposed [D, C], Charades' layout);
* a dataset's MR annotations → one ``.npz`` per video with ``features`` [N, D] and ``queries`` [N] (row i = the
  i-th annotated sentence, stored under the benchmark's text rule);

each with a ``manifest.json`` (the encoder's recipe) beside it, so runs trained on them can embed new queries.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from unimd_lib.config.data import DataConfig
from unimd_lib.data.benchmarks import load_mr, load_tad
from unimd_lib.data.segments import IssueLog
from unimd_lib.errors import DataError, ExistsError
from unimd_lib.formats.arrays import load_npz, write_npz_atomic
from unimd_lib.formats.embeddings import query_text_key
from unimd_lib.formats.files import read_json
from unimd_lib.text import TextEncoder, read_manifest, write_manifest
from unimd_lib.text.recipe import MANIFEST


def read_class_list(path: str | os.PathLike) -> list[str]:
    """Class names from a ``.txt`` (one per line, blank lines skipped) or a ``.json`` list; duplicates are errors."""
    p = Path(path)
    if not p.is_file():
        raise DataError(p, None, "class list not found")
    if p.suffix == ".json":
        names = read_json(p)
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise DataError(p, None, "a .json class list must be a list of strings")
    else:
        names = [line.strip() for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
    check_unique(names, p)
    return names


def check_unique(names: Sequence[str], source=None) -> None:
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if not name.strip():
            raise DataError(source, f"class {i}", "empty class name")
        if name in seen:
            raise DataError(source, f"class {i}", f"duplicate class name {name!r} (also class {seen[name]})")
        seen[name] = i


def _check_recipe(folder: Path, encoder: TextEncoder, overwrite: bool) -> None:
    """Embeddings of two encoders must not mix in one folder."""
    path = folder / MANIFEST
    if path.is_file() and not overwrite:
        recipe, _ = read_manifest(path)
        if recipe != encoder.recipe:
            raise DataError(path, "recipe", f"this folder holds embeddings of another recipe ({recipe.encoder}, "
                            f"{recipe.output_dim}-d): pass overwrite to replace them")  # fmt: skip


def embed_vocabulary(
    names: Sequence[str], out: str | os.PathLike, encoder: TextEncoder, *, transposed: bool = False,
    overwrite: bool = False,
) -> Path:  # fmt: skip
    """``out`` (.npz, ``features`` [C, D] or [D, C] when ``transposed``) and the manifest beside it."""
    out = Path(out)
    check_unique(names, out)
    if out.exists() and not overwrite:
        raise ExistsError(out, None, "exists (pass overwrite)")
    _check_recipe(out.parent, encoder, overwrite)
    emb = encoder.encode(list(names))
    write_npz_atomic(out, {"features": np.ascontiguousarray(emb.T if transposed else emb)})
    write_manifest(out.parent, encoder.recipe, written_by="unimd embed-text", classes=list(names),
                   files={"classes": out.name, "transposed": transposed})  # fmt: skip
    return out


def vocabulary_of(cfg: DataConfig, split: str | None = None) -> list[str]:
    """The class names of a dataset's TAD annotations, in label-id order."""
    if cfg.tad is None:
        raise DataError(None, "data.tad", "the config has no TAD section")
    names = load_tad(cfg, split or cfg.train_split, IssueLog()).class_names
    return list(names or [])


def _existing(path: Path, vid: str) -> list[str] | None:
    if not path.is_file():
        return None
    return [str(q) for q in load_npz(path, f"video {vid}", ("features", "queries"))["queries"].tolist()]


def embed_queries(
    cfg: DataConfig, splits: Sequence[str], encoder: TextEncoder, *, out_dir: str | os.PathLike | None = None,
    overwrite: bool = False, progress: bool = True,
) -> dict[str, int]:  # fmt: skip
    """Per-video query files for the MR annotations of ``splits`` (into ``out_dir`` or the config's
    ``mr.embedding_folder``). An existing file whose stored sentences differ from the annotation is an error
    naming the file and the first differing query (``overwrite`` replaces it). Returns videos written per split."""
    if cfg.mr is None:
        raise DataError(None, "data.mr", "the config has no MR section")
    folder = Path(out_dir) if out_dir is not None else Path(cfg.mr.embedding_folder)
    _check_recipe(folder, encoder, overwrite)
    plan: list[tuple[Path, str, list[str]]] = []
    counts = {}
    for split in splits:
        ann = load_mr(cfg, split, IssueLog())
        counts[split] = 0
        for vid, a in ann.videos.items():
            if not a.texts:
                continue
            keys = [query_text_key(t, cfg.mr.text_rule) for t in a.texts]
            path = folder / cfg.mr.embedding_pattern.format(video_id=vid, split=split)
            have = _existing(path, vid)
            if have is not None and have != keys and not overwrite:
                i = next((i for i, (x, y) in enumerate(zip(have, keys)) if x != y), min(len(have), len(keys)))
                want, got = keys[i] if i < len(keys) else None, have[i] if i < len(have) else None
                raise DataError(path, f"video {vid}, query {i}", f"annotation sentence {want!r} does not match the "
                                f"existing file's {got!r} (pass overwrite to re-embed)")  # fmt: skip
            plan.append((path, vid, keys))
            counts[split] += 1
    flat = [k for _, _, keys in plan for k in keys]
    emb = encoder.encode(flat, progress=progress)
    start = 0
    for path, _, keys in plan:
        write_npz_atomic(path, {"features": emb[start : start + len(keys)], "queries": np.array(keys)})
        start += len(keys)
    write_manifest(folder, encoder.recipe, written_by="unimd embed-text", splits=list(splits),
                   text_rule=cfg.mr.text_rule)  # fmt: skip
    return counts
