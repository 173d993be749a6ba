"""Layered fixtures, as jupysql does: ``shell`` (a real InteractiveShell, once per session) ->
``ip_empty`` (clean namespace, isolated workspace) -> ``ip`` (the extension loaded)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("mlflow", "feast", "evidently", "papermill", "kfp", "mlserver", "sklearn", "pandas")


@pytest.fixture(scope="session")
def shell():
    cfg = Config()
    cfg.HistoryManager.enabled = False
    return InteractiveShell.instance(config=cfg)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Every test works in its own folder; no workspace or tracking server leaks in from outside."""
    for var in ("MLOPS_HOME", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def ip_empty(shell):
    saved = set(shell.user_ns)
    yield shell
    for name in set(shell.user_ns) - saved:
        del shell.user_ns[name]


@pytest.fixture
def ip(ip_empty):
    ip_empty.run_line_magic("load_ext", "mlops_magics")
    yield ip_empty
    ip_empty.run_line_magic("unload_ext", "mlops_magics")
    ip_empty.config.pop("MLOps", None)


def run_python(
    code: str, env: dict | None = None, timeout: float = 120, cwd=None
) -> subprocess.CompletedProcess:
    """Run code in a fresh interpreter of this environment (what a new kernel would see)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=full_env, cwd=cwd
    )
