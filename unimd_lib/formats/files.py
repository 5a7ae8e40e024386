"""Small file helpers: JSON reading with clear errors (plain or gzip), atomic writes, reads remembered while a
file is unchanged."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from unimd_lib.errors import DataError


def open_text(path: str | os.PathLike):
    """Open a text file for reading, transparently gunzipping ``*.gz``."""
    p = Path(path)
    if not p.exists():
        raise DataError(p, None, "file not found")
    if p.suffix == ".gz":
        return gzip.open(p, "rt", encoding="utf-8")
    return open(p, encoding="utf-8")


def _reject_duplicate_keys(path: str | os.PathLike):
    def hook(pairs: list[tuple[str, Any]]) -> dict:
        out: dict = {}
        for key, value in pairs:
            if key in out:
                raise DataError(path, repr(key), "duplicate key in JSON object (e.g. a video id listed twice)")
            out[key] = value
        return out

    return hook


def read_json(path: str | os.PathLike) -> Any:
    """Parse a JSON (or JSON.gz) file.

    A malformed file raises DataError naming the file, line and column; a key repeated inside one object
    (which ``json`` would silently resolve to the last value) raises DataError naming the key.
    """
    with open_text(path) as fh:
        try:
            return json.load(fh, object_pairs_hook=_reject_duplicate_keys(path))
        except json.JSONDecodeError as err:
            raise DataError(path, f"line {err.lineno} column {err.colno}", f"malformed JSON: {err.msg}") from None


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically, on error it is removed.

    Readers never see a half-written file: either the old content or the complete new one.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: str | os.PathLike, obj: Any, indent: int | None = 1) -> None:
    write_text_atomic(path, json.dumps(obj, indent=indent) + "\n")


_READ_ONCE: OrderedDict[tuple, Any] = OrderedDict()
READ_ONCE_SIZE = 8  # ground-truth and clip files of one run: a few small tables


def read_once(reader: Callable[..., Any], path: str | os.PathLike, *args: Any) -> Any:
    """``reader(path, *args)``, remembered for as long as the file is unchanged (same size and modification
    time): the ground truth a training run scores every epoch is parsed once. Callers must not modify the
    result; the ``READ_ONCE_SIZE`` most recent reads are kept."""
    p = Path(path)
    if not p.is_file():
        return reader(path, *args)  # the reader's own error names the file
    st = p.stat()
    key = (reader, str(p.resolve()), st.st_size, st.st_mtime_ns, args)
    if key in _READ_ONCE:
        _READ_ONCE.move_to_end(key)
        return _READ_ONCE[key]
    value = reader(path, *args)
    _READ_ONCE[key] = value
    while len(_READ_ONCE) > READ_ONCE_SIZE:
        _READ_ONCE.popitem(last=False)
    return value


def sha256_of(path: str | os.PathLike) -> str:
    """sha256 of a file, or of a folder's files (sorted relative names and contents): the identity of a
    weights file or folder in a recipe or manifest."""
    p = Path(path)
    h = hashlib.sha256()
    files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    for f in files:
        if p.is_dir():
            h.update(str(f.relative_to(p)).encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()
