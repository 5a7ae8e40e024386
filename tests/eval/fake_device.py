"""A CPU stand-in for CuPy that checks the ``xp`` code paths without a GPU.

``FakeDevice`` exposes only names that CuPy has, sorts stably (``cupy.argsort`` is always stable and takes no
``kind``), and returns ``DeviceArray`` (an ndarray subclass) that refuses to be mixed with host numpy arrays in
operations, indexing and assignment, as CuPy refuses implicit host↔device conversions. Results are computed by
numpy, so they must equal the numpy backend's exactly.
"""

from __future__ import annotations

import numpy as np
import pytest


class HostArrayInDeviceOp(TypeError):
    pass


def _is_host(x) -> bool:
    return isinstance(x, np.ndarray) and not isinstance(x, DeviceArray) and x.ndim > 0


def _check(args) -> None:
    for a in args:
        if _is_host(a):
            raise HostArrayInDeviceOp(f"host numpy array {a.shape} {a.dtype} used in a device operation")
        if isinstance(a, (tuple, list)):
            _check(a)


def _wrap(x):
    if isinstance(x, np.ndarray) and not isinstance(x, DeviceArray):
        return x.view(DeviceArray)
    if isinstance(x, tuple):
        return tuple(_wrap(v) for v in x)
    return x


def _plain(x):
    if isinstance(x, DeviceArray):
        return x.view(np.ndarray)
    if isinstance(x, (tuple, list)):
        return type(x)(_plain(v) for v in x)
    return x


class DeviceArray(np.ndarray):
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        _check(inputs)
        if method not in ("__call__", "reduce"):
            raise NotImplementedError(f"ufunc.{method} is not used on the device path")
        out = kwargs.pop("out", None)
        if out is not None:
            kwargs["out"] = tuple(_plain(o) for o in out)
        return _wrap(getattr(ufunc, method)(*(_plain(i) for i in inputs), **kwargs))

    def __getitem__(self, key):
        _check(key if isinstance(key, tuple) else (key,))
        return _wrap(np.ndarray.__getitem__(self.view(np.ndarray), _plain(key)))

    def __setitem__(self, key, value):
        _check((key if isinstance(key, tuple) else (key,)) + (value,))
        np.ndarray.__setitem__(self.view(np.ndarray), _plain(key), _plain(value))

    def __array_function__(self, func, types, args, kwargs):
        _check(args)
        _check(tuple(kwargs.values()))
        return _wrap(func(*_plain(args), **{k: _plain(v) for k, v in kwargs.items()}))


class FakeDevice:
    """Module-like: ``FakeDevice().arange`` etc.; only names CuPy defines."""

    def __init__(self):
        cupy = pytest.importorskip("cupy")
        self._names = set(dir(cupy))

    def __getattr__(self, name):
        if name not in self._names:
            raise AttributeError(f"cupy has no {name!r}")
        obj = getattr(np, name)
        if isinstance(obj, type) or not callable(obj):
            return obj  # dtypes, constants
        if name == "argsort":
            return lambda a, axis=-1, kind=None: _wrap(np.argsort(_plain(a), axis=axis, kind="stable"))
        if name == "asarray":
            return lambda a, dtype=None: _wrap(np.array(_plain(a), dtype=dtype, copy=True))

        def call(*args, **kwargs):
            _check(args)
            _check(tuple(kwargs.values()))
            return _wrap(obj(*_plain(args), **{k: _plain(v) for k, v in kwargs.items()}))

        return call


def install(monkeypatch) -> FakeDevice:
    """Route ``backend="cupy"`` to a FakeDevice in every eval module; returns it."""
    from unimd_lib.eval import _xp, charades_frames, detection_map, nlq, recall

    dev = FakeDevice()

    def get_xp(backend="auto"):
        return dev if backend == "cupy" else np

    for mod in (detection_map, charades_frames, nlq, recall):
        monkeypatch.setattr(mod, "get_xp", get_xp)
    monkeypatch.setattr(_xp, "host", lambda a: np.array(_plain(a), copy=True) if isinstance(a, np.ndarray) else a)

    def scatter(op):
        def run(xp, out, index, values):
            if xp is np:
                return op.at(out, index, values)
            _check((index, values))
            op.at(out.view(np.ndarray), _plain(index), _plain(values))

        return run

    monkeypatch.setattr(_xp, "scatter_min", scatter(np.minimum))
    monkeypatch.setattr(_xp, "scatter_max", scatter(np.maximum))
    return dev
