"""Text as an input: encoders behind one interface (``TextEncoder``), their recipes, and the manifest that
ties a set of embedding files (and the runs trained on them) to the encoder that made them.

Imports only ``formats``, ``config`` and ``errors``; ``data``, ``train``, ``views`` and the CLI import it.
"""

from unimd_lib.text.base import TextEncoder, TextTruncationWarning
from unimd_lib.text.load import (
    ENCODERS,
    load_text_encoder,
    manifest_for,
    read_manifest,
    run_text_encoder,
    write_manifest,
)
from unimd_lib.text.recipe import TextRecipe

__all__ = [
    "ENCODERS",
    "TextEncoder",
    "TextRecipe",
    "TextTruncationWarning",
    "load_text_encoder",
    "manifest_for",
    "read_manifest",
    "run_text_encoder",
    "write_manifest",
]
