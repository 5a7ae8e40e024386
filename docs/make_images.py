"""Regenerate the README's figures from a trained run (default: the demo's co-training run).

    python docs/make_images.py [RUN_DIR]       # writes docs/images/fp_profile.png and timeline_static.png

The explorer screenshot (docs/images/explorer.png) comes from the real-browser check
(``UNIMD_SCREENSHOTS=docs/images UNIMD_SCREENSHOT_RUN=RUN_DIR pytest tests/views/test_browser.py``), which drives
notebook 05 in JupyterLab.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from unimd_lib.views import error_analysis, load_tables, plot_timeline  # noqa: E402

OUT = Path(__file__).resolve().parent / "images"


def main(run_dir: str = "runs/demo/cotrain") -> None:
    tables = load_tables(run_dir)
    report = error_analysis(tables)
    OUT.mkdir(parents=True, exist_ok=True)
    report.fp_profile_figure(backend="matplotlib").savefig(OUT / "fp_profile.png", dpi=140, bbox_inches="tight")
    videos = tables.videos
    video = str(videos.loc[videos["tad"] & videos["mr"], "video_id"].iloc[0])
    plot_timeline(tables, video, task="tad", top_k=8).savefig(OUT / "timeline_static.png", dpi=140, bbox_inches="tight")
    print(f"wrote {OUT}/fp_profile.png and {OUT}/timeline_static.png from {run_dir}")


if __name__ == "__main__":
    main(*sys.argv[1:])
