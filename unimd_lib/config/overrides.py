"""``--set section.key=value`` command-line overrides → a nested mapping merged over a config."""

from __future__ import annotations

from collections.abc import Iterable

import yaml

from unimd_lib.errors import ConfigError


def parse_overrides(items: Iterable[str], source: str = "--set") -> dict:
    """``["opt.epochs=3", "model.embd_dim=64"]`` → ``{"opt": {"epochs": 3}, "model": {"embd_dim": 64}}``.
    Values are parsed as YAML (numbers, booleans, lists, null). Errors name ``source`` as their file."""
    out: dict = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key or any(not part for part in key.split(".")):
            raise ConfigError(source, item, "an override must look like section.key=value")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ConfigError(source, key, f"value {text!r} is not valid YAML: {err}") from None
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(source, key, "conflicts with another override")
        node[leaf] = value
    return out
