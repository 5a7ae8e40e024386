"""Reading and writing ``.npy`` / ``.npz`` arrays with errors that name the file, and byte-reproducible writes.

``numpy.savez`` stamps the current time into the zip members, so two runs never give identical files; the
writers here fix the timestamp (and write atomically) so that a generator seeded the same way reproduces
its output byte for byte.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from unimd_lib.errors import DataError
from unimd_lib.formats.files import atomic_path

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def load_array(path: str | os.PathLike, item: str | None, key: str = "features") -> np.ndarray:
    """One array from ``.npy`` or from key ``key`` of ``.npz``; object (pickled) arrays are refused."""
    p = Path(path)
    if not p.is_file():
        raise DataError(p, item, "file not found")
    _check_magic(p, item)
    try:
        if p.suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                if key not in z.files:
                    raise DataError(p, item, f"npz has no key {key!r} (keys: {sorted(z.files)})")
                return z[key]
        return np.load(p, allow_pickle=False)
    except DataError:
        raise
    except ValueError as err:  # object arrays need pickle; we never unpickle released files
        raise DataError(p, item, f"cannot read array without unpickling ({err})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as err:
        raise DataError(p, item, f"unreadable array file: {err}") from None


def load_npz(path: str | os.PathLike, item: str | None, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Several keys of one ``.npz`` (all required)."""
    p = Path(path)
    if not p.is_file():
        raise DataError(p, item, "file not found")
    _check_magic(p, item)
    try:
        with np.load(p, allow_pickle=False) as z:
            missing = [k for k in keys if k not in z.files]
            if missing:
                raise DataError(p, item, f"npz lacks key(s) {missing} (keys: {sorted(z.files)})")
            return {k: z[k] for k in keys}
    except DataError:
        raise
    except ValueError as err:
        raise DataError(p, item, f"cannot read array without unpickling ({err})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as err:
        raise DataError(p, item, f"unreadable npz file: {err}") from None


def _check_magic(p: Path, item: str | None) -> None:
    """Refuse files that are neither .npy nor zip before numpy falls back to unpickling them."""
    with open(p, "rb") as fh:
        head = fh.read(6)
    is_npz = p.suffix == ".npz"
    if (is_npz and head[:4] == b"PK\x03\x04") or (not is_npz and head == b"\x93NUMPY"):
        return
    raise DataError(p, item, f"not a {'.npz (zip)' if is_npz else '.npy'} file (starts with {head!r})")


def _npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asanyarray(arr), allow_pickle=False)
    return buf.getvalue()


def write_npy_atomic(path: str | os.PathLike, arr: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(_npy_bytes(arr))


def write_npz_atomic(path: str | os.PathLike, arrays: Mapping[str, np.ndarray], *, compressed: bool = False) -> None:
    """``.npz`` readable by ``np.load`` (deflated with ``compressed``), byte-identical for identical arrays."""
    method = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", compression=method) as zf:
        for name, arr in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = method  # a ZipInfo carries its own method (the ZipFile's is not applied)
            zf.writestr(info, _npy_bytes(arr))
