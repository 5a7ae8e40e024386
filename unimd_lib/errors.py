"""The workbench's expected errors: mistakes in the user's input, not bugs. Each names the file and the
item at fault, and ``str(err)`` reads ``<file>: <item>: <message>``.

``unimd`` prints them as one line on stderr and exits 2 (``unimd_lib.cli.main``); a notebook shows them as
one short message (IPython's ``_render_traceback_``). ``UNIMD_DEBUG=1`` brings the traceback back in both.
Each class also derives from the built-in exception it replaces (``ValueError``, ``FileNotFoundError``, ...),
so code that catches the built-in keeps working.
"""

from __future__ import annotations

import os
from os import PathLike

DEBUG_ENV = "UNIMD_DEBUG"


def debug_enabled() -> bool:
    """``UNIMD_DEBUG`` set to anything but empty / 0 / false / no."""
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")


class WorkbenchError(Exception):
    """Base of the expected errors. ``path``: the offending file or folder (or the command-line option that
    carried the value); ``item``: the video / query / row / key inside it; ``message``: what is wrong."""

    def __init__(self, path: str | PathLike | None, item: str | None = None, message: str | None = None):
        if message is None:  # one text: torch re-raising a DataLoader worker's error as ``cls(text)``
            path, message = None, _last_message(str(path), type(self).__name__)
        self.path = None if path is None else str(path)
        self.item = item
        self.message = message
        super().__init__(": ".join([*(p for p in (self.path, item) if p), message]))

    def __reduce__(self):  # pickles (e.g. from a DataLoader worker) with the three fields, not str(self)
        return type(self), (self.path, self.item, self.message)

    @property
    def _render_traceback_(self):
        """What IPython shows instead of the traceback; absent in debug mode, so the traceback shows."""
        if debug_enabled():
            raise AttributeError("_render_traceback_")
        return self._short_message

    def _short_message(self) -> list[str]:
        return [f"\x1b[31m{type(self).__name__}\x1b[0m: {self}"]


def _last_message(text: str, name: str) -> str:
    """The message of a formatted traceback whose last line reads ``...<name>: <message>``."""
    lines = text.strip().splitlines() or [""]
    _, sep, message = lines[-1].partition(f"{name}: ")
    return message if sep else lines[-1]


class DataError(WorkbenchError, ValueError):
    """Bad input data (annotations, features, embeddings, predictions...)."""


class ConfigError(WorkbenchError, ValueError):
    """Bad configuration: names the config file (or ``--set``) and the key."""

    @property
    def key(self) -> str | None:
        return self.item


class NotFoundError(WorkbenchError, FileNotFoundError):
    """A file or folder the command needs does not exist (a run folder, a checkpoint...)."""


class ExistsError(WorkbenchError, FileExistsError):
    """An output folder already holds something the command will not overwrite without being told."""


class UsageError(WorkbenchError, ValueError):
    """A command-line argument / library argument with a value that is not accepted (unknown protocol,
    missing companion option...). ``path`` is usually ``None``; ``item`` names the argument."""


class BackendError(WorkbenchError, RuntimeError):
    """An array backend was requested that this machine cannot provide (``backend='cupy'`` without a GPU)."""


def is_input_error(err: BaseException) -> bool:
    """The user's mistake, not a bug: a workbench error, or an OS error about a named file."""
    return isinstance(err, WorkbenchError) or (isinstance(err, OSError) and err.filename is not None)
