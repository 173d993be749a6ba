"""A real Chromium (Debian's, driven by Playwright) looking at a tool's own page; the screenshot is kept
under ``test-output/`` (``MLOPS_TEST_OUTPUT``) for a person to look at."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def screenshot(url: str, text: str, name: str, wait_for: str | None = None, height: int = 1200) -> str:
    """Open ``url``, wait until ``text`` (and the ``wait_for`` selector) shows, save a full-page
    screenshot as ``name``; the page's text."""
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's chromium (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    out = Path(os.environ.get("MLOPS_TEST_OUTPUT", ROOT / "test-output"))
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": height})
            page.goto(url)
            page.wait_for_selector(f"text={text}", timeout=120_000)
            if wait_for:
                page.wait_for_selector(wait_for, timeout=120_000)
            page.wait_for_load_state("networkidle", timeout=60_000)
            page.screenshot(path=str(out / name), full_page=True)
            body = page.inner_text("body")
        finally:
            browser.close()
    assert (out / name).stat().st_size > 10_000
    return body
