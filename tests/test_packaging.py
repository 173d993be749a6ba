"""The files that install the project agree with each other (the lock is what a fresh machine gets)."""

import re

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


def test_binder_post_build_enables_the_package():
    text = (ROOT / "binder" / "postBuild").read_text()
    assert "pip install --no-deps -e ." in text
