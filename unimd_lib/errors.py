"""The one error type for bad input: it always names the file and the item at fault."""

from __future__ import annotations

from os import PathLike


class DataError(ValueError):
    """Bad input data. ``str(err)`` reads ``<file>: <item>: <message>``.

    ``path`` is the offending file (or folder), ``item`` the video / query / row / key inside it.
    """

    def __init__(self, path: str | PathLike | None, item: str | None, message: str):
        self.path = None if path is None else str(path)
        self.item = item
        self.message = message
        parts = [p for p in (self.path, item) if p]
        super().__init__(": ".join([*parts, message]))


class ConfigError(ValueError):
    """Bad configuration: names the config file and the key."""

    def __init__(self, path: str | PathLike | None, key: str | None, message: str):
        self.path = None if path is None else str(path)
        self.key = key
        self.message = message
        parts = [p for p in (self.path, key) if p]
        super().__init__(": ".join([*parts, message]))
