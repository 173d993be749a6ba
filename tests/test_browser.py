"""JupyterLab in a real Chromium: the demo notebooks run from the page, looked at the way a person would.

01_features runs with papermill first (it only fills the workspace); 02_train, 03_deploy and 04_monitor
then run in the browser, in order, on one JupyterLab server and one workspace (03 starts the MLServer
deployment that 04 scores and checks for drift, then stops). Each notebook stays open in its own page,
so the tests below look at the same outputs: no errors, nothing on stderr, no card wider than its
output area, readable lineage, a compact drift cell, and Tab completion of ``%deploy``.

Debian's chromium, driven by Playwright (no browser download); JupyterLab 4 on 127.0.0.1 with a token
and its own config, runtime, settings and workspaces folders. Screenshots are kept under
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

from chromium import ARGS, CHROMIUM
from conftest import ROOT

NOTEBOOKS = ("02_train", "03_deploy", "04_monitor")
IDLE = ".jp-StatusBar-TextItem:has-text('| Idle')"
OUTPUT = ".jp-OutputArea-output"
pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (.ci/run installs it)"),
    pytest.mark.slow,
    # the first test also pays for the module's fixtures (01 by papermill, Lab, three notebooks: 90 s on
    # 2 idle cores); the whole module is meant to stay under 8 minutes
    pytest.mark.timeout(480),
]

# Every element inside one of our cards (root classes start with ``mlops-``) whose content is wider than
# its box, or whose box reaches past the output area's right edge. Only the boxes we made to scroll
# (``mlops-scroll``: a wide table scrolls in its own box instead of being clipped, display/card.py) are
# left out with their content, and returned apart (``scrollers``) when they do scroll. Other boxes that
# could scroll are checked like the rest: ipywidgets' Box is ``overflow: auto`` by default, so content
# wider than a card's VBox would show as a scrollbar under the card.
OVERFLOW_JS = """
(selector) => {
  const found = [], scrollers = [];
  const name = (el) => el.tagName.toLowerCase() + (el.className && typeof el.className === 'string'
      ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  for (const area of document.querySelectorAll(selector)) {
    const right = area.getBoundingClientRect().right;
    const roots = [...area.querySelectorAll('[class*="mlops-"]')].filter(
      (el) => !el.parentElement.closest('[class*="mlops-"]'));
    for (const root of roots) {
      const walk = (el) => {
        if (el.getClientRects().length === 0) return;  // not shown (display: none, a closed <details>)
        if (el.classList.contains('mlops-scroll')) {
          if (el.scrollWidth > el.clientWidth + 1)
            scrollers.push({element: name(el), scrollWidth: el.scrollWidth, clientWidth: el.clientWidth,
                            text: el.innerText.slice(0, 80)});
          return;
        }
        const box = el.getBoundingClientRect();
        const wide = el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0;
        if (wide || box.right > right + 1)
          found.push({element: name(el), root: name(root), scrollWidth: el.scrollWidth,
                      clientWidth: el.clientWidth, pastArea: Math.round(box.right - right),
                      text: (el.innerText || el.textContent || '').slice(0, 80)});
        for (const child of el.children) walk(child);
      };
      walk(root);
    }
  }
  return {found, scrollers};
}
"""

# Lineage nodes whose text does not fit: the node or anything in it narrower than its content.
CLIPPED_JS = """
() => [...document.querySelectorAll('.mlops-lineage-node')].flatMap((node) =>
  [node, ...node.querySelectorAll('*')]
    .filter((el) => el.getClientRects().length && el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0)
    .map((el) => ({text: el.innerText.slice(0, 80), scrollWidth: el.scrollWidth, clientWidth: el.clientWidth})))
"""


def _settings(folder: Path) -> None:
    for plugin, values in {
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false"},  # no news popup
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},  # every cell stays in the DOM
    }.items():
        path = folder / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


SERVING: list[str] = []  # the workspace's processes once 03 has run (filled by the ``pages`` fixture)


def _workspace_processes(workspace: Path, wait: float = 15) -> list[str]:
    """Processes started for this workspace (the MLServer deployment runs from a folder inside it),
    after up to ``wait`` seconds for them to exit."""
    deadline = time.monotonic() + wait
    while True:
        left = []
        for p in psutil.process_iter(["cmdline", "status"]):
            cmd = " ".join(p.info["cmdline"] or [])
            if str(workspace) in cmd and p.info["status"] != psutil.STATUS_ZOMBIE:
                left.append(f"{p.pid}: {cmd[:200]}")
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.5)


@pytest.fixture(scope="module")
def out() -> Path:
    folder = Path(os.environ.get("MLOPS_TEST_OUTPUT", ROOT / "test-output"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving a copy of the notebooks, whose workspace already holds 01_features' views.
    Afterwards: the kernels shut down, the server stopped, and no process of the workspace left."""
    import papermill as pm

    tmp = tmp_path_factory.mktemp("browser")
    root, workspace = tmp / "nb", tmp / "ws"
    shutil.copytree(ROOT / "notebooks", root)
    dirs = {name: tmp / name.lower() for name in
            ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR")}  # fmt: skip
    _settings(dirs["JUPYTERLAB_SETTINGS_DIR"])
    with pytest.MonkeyPatch.context() as mp:  # module scope: conftest's per-test isolation is not there yet
        for var in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_EXPERIMENT_NAME"):
            mp.delenv(var, raising=False)
        mp.setenv("MLOPS_HOME", str(workspace))
        pm.execute_notebook(str(root / "01_features.ipynb"), str(tmp / "01_out.ipynb"), kernel_name="python3",
                            progress_bar=False, cwd=str(root))  # fmt: skip
        env = {**os.environ, **{k: str(v) for k, v in dirs.items()}}
    port, token = free_port(), uuid.uuid4().hex
    log = open(tmp / "lab.log", "wb")  # noqa: SIM115 - closed after the server stops
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if httpx.get(f"{url}/api/status", params={"token": token}, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, (tmp / "lab.log").read_text()[-3000:]
            time.sleep(0.5)
        yield url, token, workspace
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
    assert _workspace_processes(workspace) == []  # the deployment's MLServer went with its kernel


def _run_all(browser, url: str, token: str, name: str):
    """Open ``name`` in its own page, run all cells, and wait until the kernel is idle again."""
    page = browser.new_page(viewport={"width": 1400, "height": 2600})
    page.goto(f"{url}/lab/workspaces/t{uuid.uuid4().hex[:8]}/tree/{name}.ipynb?reset&token={token}")
    page.wait_for_selector(IDLE, timeout=120_000)
    started = time.monotonic()
    # the command resolves once every cell has run (or one failed): JupyterLab's NotebookActions.runAll
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_selector(IDLE, timeout=120_000)
    # widget views render from comm messages after the replies: wait until none is still loading
    page.wait_for_function(
        f"""() => [...document.querySelectorAll("{OUTPUT}[data-mime-type='application/vnd.jupyter.widget-view+json']")]
              .every((o) => o.querySelector('.jupyter-widgets'))""",
        timeout=60_000,
    )
    print(f"{name}: ran in {time.monotonic() - started:.0f} s")
    return page


def _screenshot(page, path: Path) -> None:
    """The whole notebook, not only the viewport: the page is made as tall as the notebook for it."""
    outer = ".jp-NotebookPanel-notebook .jp-WindowedPanel-outer"  # what scrolls in JupyterLab 4
    height = page.evaluate(f"document.querySelector('{outer}').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": min(max(height + 200, 2600), 16_000)})
    page.evaluate(f"document.querySelector('{outer}').scrollTop = 0")
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": 1400, "height": 2600})


@pytest.fixture(scope="module")
def pages(lab, out):
    """02, 03 and 04 run in the browser in order, each left open in its own page (03's kernel owns the
    deployment 04 scores, so it stays up until 04 has stopped it)."""
    from playwright.sync_api import sync_playwright

    url, token, workspace = lab
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            opened = {}
            for name in NOTEBOOKS:
                opened[name] = _run_all(browser, url, token, name)
                _screenshot(opened[name], out / f"{name}.png")
                if name == "03_deploy":  # what the process check below sees while the deployment runs
                    SERVING[:] = _workspace_processes(workspace, wait=0)
            yield opened
        finally:
            browser.close()


def _cell(page, starts: str):
    """The code cell whose source starts with ``starts``."""
    for cell in page.query_selector_all(".jp-CodeCell"):
        if cell.query_selector(".jp-InputArea-editor").inner_text().startswith(starts):
            return cell
    raise AssertionError(f"no cell starts with {starts!r}")


def test_02_train_renders_its_widgets_in_jupyterlab(pages, out):
    page = pages["02_train"]
    runs = page.query_selector_all(f"{OUTPUT} .mlops-widget-run")
    # the two %%track run cards, rendered as ipywidgets (not the static HTML fallback)
    assert len(runs) == 2
    assert "MLflow run logistic" in runs[0].inner_text() and "FINISHED" in runs[0].inner_text()
    workspace = page.query_selector(f"{OUTPUT} .mlops-widget-workspace")
    assert "mlops_magics workspace" in workspace.inner_text()
    assert page.query_selector_all(f"{OUTPUT} .widget-accordion, {OUTPUT} .lm-Widget.jupyter-widgets")
    # MLflow's integer-column hint used to print in red under every %%track cell
    # nor MLflow's own registration message beside the registered-version card
    text = page.inner_text(".jp-Notebook")
    assert "Inferred schema contains integer" not in text and "Successfully registered model" not in text
    workspace.scroll_into_view_if_needed()
    page.screenshot(path=str(out / "02_train_workspace.png"))
    assert (out / "02_train.png").stat().st_size > 20_000


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_no_error_and_nothing_on_stderr(pages, name):
    """A library printing to stderr shows as a red block between the cards: the package captures it."""
    page = pages[name]
    shown = {
        kind: [o.inner_text()[:500] for o in page.query_selector_all(f"{OUTPUT}[data-mime-type='{mime}']")]
        for kind, mime in (("error", "application/vnd.jupyter.error"), ("stderr", "application/vnd.jupyter.stderr"))
    }  # fmt: skip
    assert shown == {"error": [], "stderr": []}
    prompts = [p.inner_text() for p in page.query_selector_all(".jp-CodeCell .jp-InputPrompt")]
    assert all(p.strip("[]: ").isdigit() for p in prompts), prompts  # every cell ran


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_cards_fit_their_output_area(pages, name):
    page = pages[name]
    assert page.query_selector_all(f"{OUTPUT} [class*='mlops-']")
    measured = page.evaluate(OVERFLOW_JS, OUTPUT)
    print(name, "scrolling on purpose:", json.dumps(measured["scrollers"]))
    assert measured["found"] == [], json.dumps(measured["found"], indent=1)


def test_deploy_ran_and_04_stopped_it(pages, lab):
    """03 served the champion; 04 scored through that deployment and its last cell stopped it."""
    _, _, workspace = lab
    assert "READY" in _cell(pages["03_deploy"], "%deploy models:/credit-risk@champion --name").inner_text()
    stopped = _cell(pages["04_monitor"], "%deploy stop").query_selector(".mlops-widget-deployment")
    assert "credit-risk STOPPED" in stopped.inner_text() and "asked to stop" in stopped.inner_text()
    assert any("mlops_magics_runtime.py start" in p for p in SERVING), SERVING  # the check sees a server
    assert _workspace_processes(workspace) == []  # its MLServer is gone while 03's kernel still runs


def test_drift_cell_is_compact_with_the_report_collapsed(pages, out):
    page = pages["04_monitor"]
    cell = _cell(page, "%drift run:")
    output = cell.query_selector(".jp-Cell-outputWrapper")
    report = output.query_selector("details.mlops-drift-report")
    assert report is not None and not report.evaluate("d => d.open")  # one click away, not open
    assert "full Evidently report" in report.inner_text()
    height = output.evaluate("o => o.getBoundingClientRect().height")
    print(f"drift cell output: {height:.0f} px")
    cell.screenshot(path=str(out / "04_monitor_drift.png"))
    assert 100 < height < 1000


def test_lineage_nodes_are_not_clipped(pages, out):
    """``%mlops lineage deployment:credit-risk`` (04's own cell) in a 1400 px window: every node's text
    fits its box (scrollWidth <= clientWidth for the node and what is inside it)."""
    page = pages["04_monitor"]
    assert page.viewport_size["width"] == 1400
    cell = _cell(page, "%mlops lineage deployment:")
    cell.scroll_into_view_if_needed()
    nodes = cell.query_selector_all(".mlops-lineage-node")
    kinds = {k.get_attribute("class").split()[-1] for k in cell.query_selector_all(".mlops-lineage-col")}
    assert len(kinds) == 5 and len(nodes) >= 5  # feature views, run, model version, deployment, drift check
    texts = " ".join(n.inner_text() for n in nodes)
    assert "credit-risk" in texts and "applicant_profile" in texts
    cell.screenshot(path=str(out / "04_monitor_lineage.png"))
    assert page.evaluate(CLIPPED_JS) == []


def test_tab_after_deploy_lists_its_subcommands(pages, out):
    """In a new cell of 04 (its kernel has the extension loaded): ``%deploy `` then Tab."""
    page = pages["04_monitor"]
    page.evaluate("window.jupyterapp.commands.execute('notebook:insert-cell-below')")
    editor = page.locator(".jp-Notebook .jp-Cell.jp-mod-active .cm-content")
    editor.click()
    page.keyboard.type("%deploy ")
    page.keyboard.press("Tab")
    page.wait_for_selector(".jp-Completer:not(.lm-mod-hidden) .jp-Completer-item", timeout=30_000)
    items = [i.inner_text().strip() for i in page.query_selector_all(".jp-Completer .jp-Completer-match")]
    page.screenshot(path=str(out / "04_monitor_completion.png"))  # the popup lives outside the cell
    assert {"predict", "list", "stop"} <= set(items), items
    assert not {"and", "if", "in", "is", "not", "or"} & set(items), items  # Jedi's keywords, read as Python
