"""Your own videos → features on the workbench's grid: PyAV decoding sampled by timestamps, recipes that put
feature ``t`` where the seconds ↔ grid mapping expects it, image / clip encoders (CLIP image tower or any
user factory), batch extraction with a manifest, an alignment check and ``failures.csv``, and a per-file cache.

Imports only ``formats``, ``config`` and ``errors`` of the workbench (plus torch, PyAV, transformers).
"""

from unimd_lib.video.batch import extract_many, finalize, list_videos, read_manifest, shard
from unimd_lib.video.cache import extract_cached
from unimd_lib.video.decode import FrameSampler, VideoInfo, frames_at, probe
from unimd_lib.video.encoders import ClipImageEncoder, Encoder, load_encoder
from unimd_lib.video.extract import extract_video
from unimd_lib.video.recipe import RECIPES, Recipe, resolve_recipe

__all__ = [
    "RECIPES",
    "ClipImageEncoder",
    "Encoder",
    "FrameSampler",
    "Recipe",
    "VideoInfo",
    "extract_cached",
    "extract_many",
    "extract_video",
    "finalize",
    "frames_at",
    "list_videos",
    "load_encoder",
    "probe",
    "read_manifest",
    "resolve_recipe",
    "shard",
]
