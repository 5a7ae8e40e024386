"""Array-backend selection shared by post-processing and evaluation.

``backend`` is ``"numpy"``, ``"cupy"`` or ``"auto"`` (CuPy when a CUDA device is usable, else numpy).
Importing this module never touches a GPU and never raises on a machine without one.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from unimd_lib.errors import BackendError, UsageError

try:  # CuPy is an optional extra (`gpu` / `gpu13`).
    import cupy as _cp
except ImportError:  # pragma: no cover - depends on the install
    _cp = None


def cupy_module() -> ModuleType | None:
    """The imported ``cupy`` module, or None when it is not installed."""
    return _cp


def gpu_available() -> bool:
    """True when CuPy is installed and a CUDA device with a working driver is present."""
    if _cp is None:
        return False
    try:
        return bool(_cp.cuda.is_available())
    except Exception:  # noqa: BLE001 - any driver/runtime failure means "no GPU"
        return False


BACKENDS = ("auto", "numpy", "cupy")


def get_xp(backend: str = "auto") -> ModuleType:
    """Return the array module for ``backend``; ``"cupy"`` without a device raises a clear error."""
    if backend not in BACKENDS:
        raise UsageError(None, "backend", f"unknown backend {backend!r}; expected one of {BACKENDS}")
    if backend == "numpy":
        return np
    if gpu_available():
        return _cp
    if backend == "cupy":
        reason = "CuPy is not installed" if _cp is None else "CuPy found no usable CUDA device/driver"
        raise BackendError(None, "backend", f"backend='cupy' requested but {reason}; use backend='numpy' or 'auto'")
    return np


def to_numpy(x: Any) -> np.ndarray:
    """Convert a numpy / CuPy / torch array (or sequence) to a numpy array without copying when possible."""
    if isinstance(x, np.ndarray):
        return x
    if _cp is not None and isinstance(x, _cp.ndarray):
        return _cp.asnumpy(x)
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch.Tensor, without importing torch here
        return x.detach().cpu().numpy()
    return np.asarray(x)


def array_module_for(tensor: Any, backend: str = "auto") -> ModuleType:
    """Array module to post-process ``tensor`` with: ``"auto"`` follows the tensor's device (CuPy for a CUDA
    tensor when CuPy is usable, numpy otherwise); ``"numpy"`` / ``"cupy"`` as in ``get_xp``."""
    if backend == "auto":
        on_cuda = getattr(getattr(tensor, "device", None), "type", "cpu") == "cuda"
        return get_xp("auto") if on_cuda else np
    return get_xp(backend)


def from_torch(tensor: Any, xp: ModuleType) -> Any:
    """A torch tensor as an ``xp`` array, through DLPack where the memory can be shared (a CPU tensor to numpy,
    a CUDA tensor to CuPy: no copy, no host round trip); otherwise copied across. Types DLPack cannot carry
    (bfloat16) must be cast by the caller."""
    tensor = tensor.detach()
    same_place = (tensor.device.type == "cuda") == (xp is not np)
    if same_place:
        return xp.from_dlpack(tensor)
    if xp is np:
        return tensor.cpu().numpy()
    return xp.asarray(tensor.cpu().numpy())
