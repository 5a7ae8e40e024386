"""Fixtures of the views tests: the synthetic benchmark with jittered predictions (built once per session)."""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory):
    """Folder with ``data/`` (the synthetic benchmark) and ``predictions/validation_{tad,mr}.csv``."""
    return tmp_path_factory.mktemp("views_demo")


@pytest.fixture(scope="session")
def demo(demo_root):
    from unimd_lib.views import demo_tables

    return demo_tables(demo_root, num_videos=80, seed=3)


@pytest.fixture(scope="session")
def demo_data(demo):
    from unimd_lib.views import TimelineData

    return TimelineData(demo)
