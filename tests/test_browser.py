"""JupyterLab in a real Chromium: 02_train.ipynb run from the page, its widgets rendered in the DOM.

Debian's chromium, driven by Playwright (no browser download); JupyterLab 4 on 127.0.0.1 with a token
and its own config, runtime, settings and workspaces folders. The screenshot is kept under
``test-output/`` (``MLOPS_TEST_OUTPUT``) for a person to look at.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psutil
import pytest

from mlops_magics.servers import free_port

from conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (.ci/run installs it)"
)


def _settings(folder: Path) -> None:
    for plugin, values in {
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false"},  # no news popup
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},  # every cell stays in the DOM
    }.items():
        path = folder / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


@pytest.fixture
def lab(tmp_path, monkeypatch):
    """JupyterLab serving a copy of the notebooks, whose workspace already holds 01_features' views."""
    import papermill as pm

    root = tmp_path / "nb"
    shutil.copytree(ROOT / "notebooks", root)
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path / "ws"))
    pm.execute_notebook(str(root / "01_features.ipynb"), str(tmp_path / "01_out.ipynb"), kernel_name="python3",
                        progress_bar=False, cwd=str(root))  # fmt: skip
    dirs = {name: tmp_path / name.lower() for name in
            ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR")}  # fmt: skip
    _settings(dirs["JUPYTERLAB_SETTINGS_DIR"])
    port, token = free_port(), uuid.uuid4().hex
    log = open(tmp_path / "lab.log", "wb")  # noqa: SIM115 - closed after the server stops
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True"],
        env={**os.environ, **{k: str(v) for k, v in dirs.items()}}, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if httpx.get(f"{url}/api/status", params={"token": token}, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, (tmp_path / "lab.log").read_text()[-3000:]
            time.sleep(0.5)
        yield url, token
        for kernel in httpx.get(f"{url}/api/kernels", params={"token": token}).json():
            httpx.delete(f"{url}/api/kernels/{kernel['id']}", params={"token": token}, timeout=30)
    finally:
        children = psutil.Process(proc.pid).children(recursive=True)
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        psutil.wait_procs(children, timeout=10)
        log.close()
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]


def test_02_train_renders_its_widgets_in_jupyterlab(lab):
    from playwright.sync_api import sync_playwright

    url, token = lab
    out = Path(os.environ.get("MLOPS_TEST_OUTPUT", ROOT / "test-output"))
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2600})
            page.goto(f"{url}/lab/workspaces/t{uuid.uuid4().hex[:8]}/tree/02_train.ipynb?reset&token={token}")
            page.wait_for_selector(".jp-StatusBar-TextItem:has-text('| Idle')", timeout=120_000)
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            workspace = page.wait_for_selector(
                ".jp-OutputArea-output .mlops-widget-workspace", timeout=300_000
            )
            page.wait_for_selector(".jp-StatusBar-TextItem:has-text('| Idle')", timeout=120_000)
            runs = page.query_selector_all(".jp-OutputArea-output .mlops-widget-run")
            # the two %%track run cards, rendered as ipywidgets (not the static HTML fallback)
            assert len(runs) == 2
            assert "MLflow run logistic" in runs[0].inner_text() and "FINISHED" in runs[0].inner_text()
            assert "mlops_magics workspace" in workspace.inner_text()
            assert page.query_selector_all(
                ".jp-OutputArea-output .widget-accordion, .jp-OutputArea-output .lm-Widget.jupyter-widgets"
            )
            errors = page.query_selector_all(
                ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']"
            )
            assert not errors, [e.inner_text()[:500] for e in errors]
            # MLflow's integer-column hint used to print in red under every %%track cell
            # nor MLflow's own registration message beside the registered-version card
            text = page.inner_text(".jp-Notebook")
            assert (
                "Inferred schema contains integer" not in text and "Successfully registered model" not in text
            )
            runs[0].scroll_into_view_if_needed()
            page.screenshot(path=str(out / "02_train.png"))
            workspace.scroll_into_view_if_needed()
            page.screenshot(path=str(out / "02_train_workspace.png"))
        finally:
            browser.close()
    assert (out / "02_train.png").stat().st_size > 20_000
