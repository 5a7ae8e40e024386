"""Real-browser check of the explorer (ENVIRONMENT.md §6, path A): JupyterLab + headless Chromium run a notebook
with ``explore(...)``, press ArrowRight on the score slider and read the plotted prediction count from the DOM
(count widget and the plotly element's ``gd.data``); then switch the task to MR.

Runs notebook 05 itself (parameterised to a small trained run) and saves a screenshot of the explorer into
the run folder (or ``$UNIMD_SCREENSHOTS``; ``$UNIMD_SCREENSHOT_RUN`` opens that run instead of training one).
Skips, saying why, without playwright or Chromium; CI installs both (``.ci/run``) and fails on such a skip
(``UNIMD_CI=1``)."""

from __future__ import annotations

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
    pytest.importorskip("playwright", reason="the browser check needs playwright (dev extra)")
    if shutil.which("chromium") is None:
        pytest.skip("chromium not installed (apt-get install chromium)")
    root = tmp_path_factory.mktemp("lab")
    run_dir = _notebook(root)
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
        yield base, token, root, run_dir
    finally:
        proc.terminate()  # stops the server by its own PID (and its kernels)
        proc.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _notebook(root: Path) -> Path:
    """Notebook 05, parameterised (papermill) to open a small co-training run trained here; returns the run."""
    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    from unimd_lib.tools.notebook_support import notebook_config
    from unimd_lib.train.pipeline import run_scheme
    from unimd_lib.views import load_tables

    if os.environ.get("UNIMD_SCREENSHOT_RUN"):  # docs/make_images.py: the README's shot of a trained run
        run_dir = Path(os.environ["UNIMD_SCREENSHOT_RUN"]).resolve()
    else:
        cfg = notebook_config(None, synthetic_dir=root / "data", quick=True)
        run_dir = run_scheme(cfg, root / "run", task="all", progress=False).run_dir
    videos = load_tables(run_dir).videos
    video = str(videos.loc[videos["tad"] & videos["mr"], "video_id"].iloc[0])  # both tasks: the MR switch exists
    nb = load_notebook_node(str(REPO / "notebooks" / "05_inspect_predictions.ipynb"))
    nb = parameterize_notebook(nb, {"run_dir": str(run_dir), "video": video, "interactive": True, "quick": True})
    nbformat.write(nb, root / "explorer.ipynb")
    return run_dir


def test_score_slider_changes_the_plotted_prediction_count(lab):
    from playwright.sync_api import sync_playwright

    base, token, root, run_dir = lab
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
        shots = Path(os.environ.get("UNIMD_SCREENSHOTS", run_dir / "screenshots"))
        shots.mkdir(parents=True, exist_ok=True)
        page.evaluate("window.jupyterapp.commands.execute('notebook:hide-all-cell-code')")
        page.locator(".unimd-timeline").first.screenshot(path=str(shots / "explorer.png"))
        page.locator(".unimd-task button", has_text="MR").click()
        page.wait_for_function("() => document.querySelector('.unimd-item label').textContent === 'Query'")
        page.wait_for_function(f"() => {{ const c = ({COUNT_JS})(); return c.dom > 0 && c.dom === c.plotted; }}")
        ctx.close()
    assert not [e for e in errors if "favicon" not in e]
