"""The files that install the project agree with each other (the lock is what a fresh machine gets)."""

import re
from pathlib import Path

import tomllib

from conftest import ROOT


def _pins(path):
    return dict(
        re.match(r"([A-Za-z0-9_.\-]+)==(\S+)", line).groups()
        for line in path.read_text().splitlines()
        if re.match(r"[A-Za-z0-9]", line)
    )


def test_binder_requirements_match_the_lock():
    assert _pins(ROOT / "binder" / "requirements.txt") == _pins(ROOT / "requirements.lock")


def test_lock_pins_every_runtime_dependency():
    pins = {k.lower().replace("_", "-") for k in _pins(ROOT / "requirements.lock")}
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.match(r"[A-Za-z0-9_.\-]+", d).group(0).lower().replace("_", "-") for d in deps}
    assert names <= pins, names - pins


def test_binder_post_build_runs_here(tmp_path):
    """postBuild, run as Binder runs it (repo root as cwd, this environment's tools on PATH): the package
    installs, the workspace is made and the serving environment is ready."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
           "MLOPS_HOME": str(tmp_path / "ws")}  # fmt: skip
    proc = subprocess.run(["bash", str(ROOT / "binder" / "postBuild")], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "ws" / "mlflow").is_dir()
    assert "workspace ready" in proc.stdout and "serving environment: /" in proc.stdout
