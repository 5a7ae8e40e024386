"""``unimd embed-text``: class names or a dataset's MR sentences → text-embedding files (+ manifest.json)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from unimd_lib.config.load import load_config
from unimd_lib.data.embed_text import embed_queries, embed_vocabulary, read_class_list, vocabulary_of
from unimd_lib.errors import ConfigError, UsageError
from unimd_lib.text import ENCODERS, load_text_encoder


def add_encoder_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("text encoder")
    g.add_argument("--encoder", choices=ENCODERS, default="minilm", help="default minilm (bundled, 384-d)")
    g.add_argument("--weights", help="checkpoint file or folder (clip: OpenAI / open_clip / Hugging Face; minilm: "
                   "a sentence-transformers folder instead of the bundled model)")  # fmt: skip
    g.add_argument("--tokenizer", help="clip: vocab.json+merges.txt folder or bpe_simple_vocab_16e6.txt.gz")
    g.add_argument("--arch", default="ViT-B/32", help="clip tower (default ViT-B/32)")
    g.add_argument("--template", default="{}", help="prompt template, '{}' = the text (e.g. 'a video of {}.')")
    g.add_argument("--dim", type=int, help="output dim (default: the config's data.text_dim, else the native dim)")
    g.add_argument("--mapping", choices=("orthogonal", "zero_pad"), help="dim mapping when --dim differs")
    g.add_argument("--mapping-seed", type=int, default=0)
    g.add_argument("--device", default="cpu")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "embed-text",
        help="embed class names or MR sentences with a text encoder",
        description="Write text-embedding files in the released layouts, with a manifest.json (the encoder's "
        "recipe) beside them. classes: a vocabulary → one .npz ('features' [C, D], or [D, C] with --transposed). "
        "queries: a config's MR annotations → one .npz per video ('features', 'queries'; annotation order).",
    )
    p.add_argument("what", choices=("classes", "queries"))
    p.add_argument("--config", help="preset name or YAML: its annotations, output paths and text_dim")
    p.add_argument("--data-root", help="folder relative data paths resolve against")
    p.add_argument("--classes", help="classes: a .txt (one per line) or .json list instead of the config's")
    p.add_argument("--out", help="classes: output .npz (default: the config's tad.class_embeddings)")
    p.add_argument("--transposed", action="store_true", help="classes: store [D, C] (Charades' layout)")
    p.add_argument("--split", nargs="+", help="queries: splits (default: the config's train and val splits)")
    p.add_argument("--out-dir", help="queries: output folder (default: the config's mr.embedding_folder)")
    p.add_argument("--overwrite", action="store_true", help="replace existing files / another recipe's files")
    add_encoder_options(p)
    p.set_defaults(func=run)


def encoder_from_args(args: argparse.Namespace, dim: int | None):
    return load_text_encoder(
        args.encoder, weights=args.weights, tokenizer=args.tokenizer, arch=args.arch, template=args.template,
        output_dim=dim, mapping=args.mapping, mapping_seed=args.mapping_seed, device=args.device,
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.config, data_root=args.data_root) if args.config else None
        dim = args.dim if args.dim is not None else (cfg.data.text_dim if cfg is not None else None)
        if args.what == "classes":
            result = _classes(args, cfg, dim)
        else:
            if cfg is None:
                raise ConfigError(None, "--config", "queries need --config (its MR annotations)")
            splits = args.split or list(dict.fromkeys((cfg.data.train_split, cfg.data.val_split)))
            counts = embed_queries(cfg.data, splits, encoder_from_args(args, dim), out_dir=args.out_dir,
                                   overwrite=args.overwrite)  # fmt: skip
            result = {"videos": counts, "folder": str(args.out_dir or cfg.data.mr.embedding_folder)}
    except ImportError as err:  # a missing optional extra: the user's environment, not a bug
        raise UsageError(None, "--encoder", str(err)) from None
    print(json.dumps(result))
    return 0


def _classes(args, cfg, dim) -> dict:
    if args.classes:
        names = read_class_list(args.classes)
    elif cfg is not None:
        names = vocabulary_of(cfg.data)
    else:
        raise ConfigError(None, "--classes", "pass --classes FILE or --config")
    out = args.out or (cfg.data.tad.class_embeddings if cfg is not None and cfg.data.tad is not None else None)
    if out is None:
        raise ConfigError(None, "--out", "where to write the class embeddings")
    transposed = args.transposed or bool(cfg is not None and cfg.data.tad and cfg.data.tad.embeddings_transposed)
    path = embed_vocabulary(names, out, encoder_from_args(args, dim), transposed=transposed, overwrite=args.overwrite)
    return {"classes": len(names), "file": str(path), "manifest": str(Path(path).parent / "manifest.json")}
