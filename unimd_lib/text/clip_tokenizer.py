"""CLIP's BPE tokenizer, offline. No installed package bundles CLIP's BPE vocabulary (open_clip does, but it
needs torchvision), so the user points at one of:

* a Hugging Face CLIP folder (``vocab.json`` + ``merges.txt``, e.g. a saved ``openai/clip-vit-base-patch32``);
* CLIP's / open_clip's ``bpe_simple_vocab_16e6.txt.gz`` (the vocabulary is rebuilt from its merges the way
  CLIP builds it: 256 byte symbols, the same with ``</w>``, the merges, then the two special tokens).
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

from unimd_lib.errors import DataError

HOW_TO = (
    "CLIP's BPE vocabulary is not bundled with any installed package: pass tokenizer=<folder with vocab.json and "
    "merges.txt> (any Hugging Face CLIP checkpoint folder) or tokenizer=<bpe_simple_vocab_16e6.txt.gz> "
    "(from the CLIP / open_clip repositories); `unimd embed-text --tokenizer PATH` on the command line"
)
SPECIAL = ("<|startoftext|>", "<|endoftext|>")


def byte_symbols() -> list[str]:
    """The 256 printable stand-ins of the bytes 0..255, in CLIP's (= GPT-2's) order."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = list(keep), 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + extra)
            extra += 1
    return [chr(c) for c in chars]


def vocab_from_merges(merges: list[tuple[str, str]]) -> dict[str, int]:
    symbols = byte_symbols()
    tokens = [*symbols, *(s + "</w>" for s in symbols), *("".join(m) for m in merges), *SPECIAL]
    return {t: i for i, t in enumerate(tokens)}


def read_bpe_gz(path: Path, num_merges: int | None = None) -> list[tuple[str, str]]:
    """The merge rules of a ``bpe_simple_vocab_16e6.txt.gz`` (first line is a header; CLIP keeps 48 894)."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        lines = fh.read().split("\n")[1:]
    n = 49152 - 256 - 2 if num_merges is None else num_merges
    merges = []
    for i, line in enumerate(lines[:n]):
        parts = line.split()
        if len(parts) != 2:
            if not line.strip():
                break
            raise DataError(path, f"line {i + 2}", f"expected two symbols per merge rule, got {line!r}")
        merges.append((parts[0], parts[1]))
    return merges


def tokenizer_source(tokenizer: str | os.PathLike | None, weights: Path | None) -> Path:
    """Where the vocabulary is: ``tokenizer`` if given, else the weights' folder when it holds one."""
    candidates = [Path(tokenizer)] if tokenizer is not None else []
    if weights is not None:
        candidates.append(weights if weights.is_dir() else weights.parent)
    for c in candidates:
        if c.is_file() and c.name.endswith(".txt.gz"):
            return c
        if c.is_dir() and (c / "vocab.json").is_file() and (c / "merges.txt").is_file():
            return c
        if c.is_dir() and list(c.glob("bpe_simple_vocab*.txt.gz")):
            return sorted(c.glob("bpe_simple_vocab*.txt.gz"))[0]
    where = tokenizer if tokenizer is not None else weights
    raise DataError(where, "tokenizer", HOW_TO)


def load_clip_tokenizer(source: Path):
    """A ``transformers`` CLIPTokenizer built from the files (no download)."""
    from transformers import CLIPTokenizer

    if source.is_file():
        merges = read_bpe_gz(source)
        return CLIPTokenizer(vocab=vocab_from_merges(merges), merges=merges)
    vocab = json.loads((source / "vocab.json").read_text(encoding="utf-8"))
    lines = (source / "merges.txt").read_text(encoding="utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines if line.strip() and not line.startswith("#version")]
    return CLIPTokenizer(vocab=vocab, merges=merges)
