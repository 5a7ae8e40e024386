"""Real-browser check of the explorer (ENVIRONMENT.md §6, path A): JupyterLab + headless Chromium run a notebook
with ``explore(...)``, press ArrowRight on the score slider and read the plotted prediction count from the DOM
(count widget and the plotly element's ``gd.data``); then switch the task to MR.

Runs only when selected (``pytest -m browser tests/views``) and when playwright and Chromium are installed."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip
COUNT_JS = """() => { const b = document.querySelector('.unimd-pred-count .unimd-n-shown');
  const gd = document.querySelector('.unimd-figure .js-plotly-plot');
  const bars = gd && gd.data ? gd.data.filter(t => (t.uid || '').startsWith('pred-'))
                                     .reduce((n, t) => n + t.x.length, 0) : -1;
  return {dom: b ? +b.dataset.count : -1, plotted: bars}; }"""
IDLE_JS = """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle'; }"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory, request):
    if "browser" not in (request.config.getoption("-m") or ""):
        pytest.skip("browser check: select it with -m browser")
    pytest.importorskip("playwright")
    if shutil.which("chromium") is None:
        pytest.skip("chromium not installed (apt-get install chromium)")
    root = tmp_path_factory.mktemp("lab")
    _notebook(root)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        env[name] = str(root / name.lower())
    settings = root / "jupyter_config_dir" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    token, port = secrets.token_hex(16), _free_port()
    cmd = [sys.executable, "-m", "jupyterlab", "--ip=127.0.0.1", f"--port={port}", "--no-browser", "--allow-root",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
           "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        yield base, token, root
    finally:
        proc.terminate()  # stops the server by its own PID (and its kernels)
        proc.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _notebook(root: Path) -> None:
    cells = [
        "from unimd_lib.views import demo_tables, explore, TimelineData, Controls\n"
        f"tables = demo_tables({str(root / 'demo')!r}, num_videos=80, seed=3)\n"
        "data = TimelineData(tables)\n"
        "both = tables.videos.loc[tables.videos['tad'] & tables.videos['mr'], 'video_id']\n"
        "video = max(both, key=lambda v: data.lanes(Controls(v, 'tad', top_k=None)).n_lane)",
        "ex = explore(tables, video=video, top_k=None)\nex",
    ]
    nb = {
        "cells": [{"cell_type": "code", "metadata": {}, "source": c, "outputs": [], "execution_count": None}
                  for c in cells],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }  # fmt: skip
    (root / "explorer.ipynb").write_text(json.dumps(nb))


def test_score_slider_changes_the_plotted_prediction_count(lab):
    from playwright.sync_api import sync_playwright

    base, token, root = lab
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(root / "profile"), executable_path=shutil.which("chromium"), headless=True, args=FLAGS,
            viewport={"width": 1300, "height": 1000},
        )  # fmt: skip
        page = ctx.new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{base}/lab/tree/explorer.ipynb?token={token}&reset")
        page.wait_for_function(IDLE_JS, timeout=90_000)
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_selector(".unimd-score-slider", timeout=120_000)
        page.wait_for_selector(".unimd-figure .js-plotly-plot", timeout=60_000)
        before = page.evaluate(COUNT_JS)
        assert before["dom"] >= 2 and before["dom"] == before["plotted"]
        page.locator(".unimd-score-slider .noUi-handle").first.focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_function(f"() => ({COUNT_JS})().dom !== {before['dom']}", timeout=30_000)
        page.wait_for_function(f"() => {{ const c = ({COUNT_JS})(); return c.dom === c.plotted; }}", timeout=30_000)
        after = page.evaluate(COUNT_JS)
        assert after["dom"] < before["dom"]
        page.locator(".unimd-task button", has_text="MR").click()
        page.wait_for_function("() => document.querySelector('.unimd-item label').textContent === 'Query'")
        page.wait_for_function(f"() => {{ const c = ({COUNT_JS})(); return c.dom > 0 && c.dom === c.plotted; }}")
        ctx.close()
    assert not [e for e in errors if "favicon" not in e]
