"""Regenerate the README's figures.

    python docs/make_images.py [RUN_DIR]              # fp_profile.png and timeline_static.png from a trained run
                                                      # (default: the demo's co-training run)
    python docs/make_images.py --ego4d DATA_ROOT      # ego4d_segment_lengths.png from the Ego4D MQ/NLQ annotation
                                                      # files alone (DATA_ROOT: the folder holding data/, or
                                                      # data/ego4d itself)

The explorer screenshot (docs/images/explorer.png) comes from the real-browser check
(``UNIMD_SCREENSHOTS=docs/images UNIMD_SCREENSHOT_RUN=RUN_DIR pytest tests/views/test_browser.py``), which drives
notebook 05 in JupyterLab.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from unimd_lib.views import error_analysis, load_tables, plot_timeline  # noqa: E402

OUT = Path(__file__).resolve().parent / "images"


def run_images(run_dir: str) -> None:
    tables = load_tables(run_dir)
    report = error_analysis(tables)
    OUT.mkdir(parents=True, exist_ok=True)
    report.fp_profile_figure(backend="matplotlib").savefig(OUT / "fp_profile.png", dpi=140, bbox_inches="tight")
    videos = tables.videos
    video = str(videos.loc[videos["tad"] & videos["mr"], "video_id"].iloc[0])
    plot_timeline(tables, video, task="tad", top_k=8).savefig(OUT / "timeline_static.png", dpi=140, bbox_inches="tight")
    print(f"wrote {OUT}/fp_profile.png and {OUT}/timeline_static.png from {run_dir}")


def ego4d_images(data_root: str) -> None:
    from unimd_lib.config.load import load_config
    from unimd_lib.views.dataset_explore import explore_benchmark
    from unimd_lib.views.dataset_static import segment_lengths_plot

    split = "training"
    tables = explore_benchmark(load_config("ego4d", data_root=data_root), [split]).tables(split)
    title = f"Ego4D {split} split: Moment Queries (TAD) vs Natural Language Queries (MR), from the annotation files"
    fig = segment_lengths_plot(tables, {"tad": "MQ", "mr": "NLQ"}, title)
    OUT.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT / "ego4d_segment_lengths.png", dpi=140, bbox_inches="tight")
    print(f"wrote {OUT}/ego4d_segment_lengths.png from {data_root}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?", default="runs/demo/cotrain")
    parser.add_argument("--ego4d", metavar="DATA_ROOT", help="draw the annotation figure instead")
    args = parser.parse_args()
    if args.ego4d:
        ego4d_images(args.ego4d)
    else:
        run_images(args.run_dir)


if __name__ == "__main__":
    main()
