"""The one interface every text encoder has, and the input checks they share."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from unimd_lib.errors import DataError
from unimd_lib.text.recipe import TextRecipe


class TextTruncationWarning(UserWarning):
    """A text was longer than the encoder's context and was cut."""


@runtime_checkable
class TextEncoder(Protocol):
    """``encode(texts)`` → float32 [N, recipe.output_dim]; ``recipe`` says exactly how."""

    recipe: TextRecipe

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray: ...


def check_texts(texts: Sequence[str], source: str | None = None) -> list[str]:
    """The texts as a list; an empty (or blank) one is an error naming its position."""
    if isinstance(texts, str):
        raise TypeError("encode() takes a sequence of texts, not one string (wrap it in a list)")
    out = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise DataError(source, f"text {i}", f"expected a string, got {type(text).__name__}")
        if not text.strip():
            raise DataError(source, f"text {i}", "empty query: there is nothing to embed")
        out.append(text)
    return out


def apply_template(texts: Sequence[str], template: str) -> list[str]:
    return [template.replace("{}", t) for t in texts]


def warn_truncated(lengths: Sequence[int], texts: Sequence[str], limit: int, encoder: str) -> None:
    """One warning naming every text whose token count exceeds ``limit`` (they are cut to ``limit``)."""
    over = [(i, n) for i, n in enumerate(lengths) if n > limit]
    if not over:
        return
    shown = "; ".join(f"text {i} ({texts[i][:40]!r}…) has {n} tokens" for i, n in over[:3])
    more = f" and {len(over) - 3} more" if len(over) > 3 else ""
    warnings.warn(
        f"{encoder}: {shown}{more}; the encoder reads at most {limit} tokens, so the rest was truncated",
        TextTruncationWarning,
        stacklevel=3,
    )


def batches(n: int, size: int) -> list[slice]:
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]
