"""The one config validator: typed config sections from YAML mappings, with errors that name the file and the key.

Every section goes through ``typed_fields`` (``opt``, ``loader``, ``run``, ``eval`` via ``build_section``; the
model's ``model``, ``train_cfg``, ``test_cfg`` and ``quirks``), and the data section's converters use
``check_value`` for their scalars: a value of the wrong type (``multiclass_nms: 'false'``, ``init_loss_norm:
'100'``) is a ``ConfigError`` naming the file and the key, never silently truthy and never a TypeError later.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from typing import Any, TypeVar

from unimd_lib.errors import ConfigError

T = TypeVar("T")


def check_value(value: Any, hint: Any, path: str | os.PathLike | None, key: str) -> Any:
    """Light type check/coercion for YAML scalars: ints are accepted where floats are expected, lists
    become tuples where tuples are expected; anything else of the wrong kind is an error."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        for opt in options:
            if opt is type(None):
                continue
            try:
                return check_value(value, opt, path, key)
            except ConfigError:
                continue
        raise ConfigError(path, key, f"value {value!r} does not match {hint}")
    if hint is Any:
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(path, key, f"expected a number, got {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(path, key, f"expected an integer, got {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(path, key, f"expected true/false, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(path, key, f"expected a string, got {value!r}")
        return value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(path, key, f"expected a list, got {value!r}")
        args = typing.get_args(hint)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(path, key, f"expected {len(args)} values, got {value!r}")
            return tuple(check_value(v, a, path, key) for v, a in zip(value, args))
        inner = args[0] if args else Any
        items = [check_value(v, inner, path, key) for v in value]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(path, key, f"expected a mapping, got {value!r}")
        return dict(value)
    return value


def typed_fields(
    cls: type,
    mapping: dict | None,
    path: str | os.PathLike | None,
    section: str,
    exclude: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The keyword arguments of dataclass ``cls`` from ``mapping``, each checked against its type hint (fields
    in ``exclude`` are built by the caller). Unknown keys and wrong types raise ConfigError."""
    mapping = {} if mapping is None else mapping
    where = None if path is None else str(path)
    if not isinstance(mapping, dict):
        raise ConfigError(where, section, f"section must be a mapping, got {type(mapping).__name__}")
    names = {f.name for f in dataclasses.fields(cls)} - set(exclude)
    unknown = sorted(set(mapping) - names)
    if unknown:
        raise ConfigError(where, f"{section}.{unknown[0]}", f"unknown key; valid keys: {', '.join(sorted(names))}")
    hints = typing.get_type_hints(cls)
    return {k: check_value(v, hints[k], where, f"{section}.{k}") for k, v in mapping.items()}


def build_section(cls: type[T], mapping: dict | None, path: str | os.PathLike | None, section: str) -> T:
    """Instantiate dataclass ``cls`` from ``mapping``; unknown keys and wrong types raise ConfigError."""
    return cls(**typed_fields(cls, mapping, path, section))


def section_to_dict(obj: Any) -> dict:
    """A config section back to plain YAML-able types (tuples become lists)."""

    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return plain(obj)
