"""What a pipeline run needs to be run again, and what changed since.

The record holds the parameters each step got, the notebooks' content hashes, the git commit and a
hash of any uncommitted diff, the installed package versions, and fingerprints (SHA-256) of the input
files that parameters name.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import sys
from pathlib import Path

MAX_DIR_FILES = 2000


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fingerprint(path: Path) -> str:
    """A file's SHA-256, or for a folder the SHA-256 over its files' relative paths and hashes."""
    if path.is_file():
        return sha256_file(path)
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file())[:MAX_DIR_FILES]
    for p in files:
        h.update(f"{p.relative_to(path).as_posix()}\0{sha256_file(p)}\n".encode())
    return h.hexdigest()


def input_paths(values: dict, base: Path) -> dict[str, Path]:
    """``{parameter: path}`` for the string parameters that name an existing file or folder."""
    out = {}
    for key, value in values.items():
        if isinstance(value, str) and value and len(value) < 4096 and "\n" not in value:
            path = Path(value) if os.path.isabs(value) else base / value
            try:
                if path.exists():
                    out[key] = path.resolve()
            except OSError:
                continue
    return out


def packages() -> dict[str, str]:
    """Every installed distribution of this interpreter (the one the kernels run) and its version."""
    out = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata.get("Name")
        if name:
            out[name.lower().replace("_", "-")] = dist.version
    return dict(sorted(out.items()))


def make(pipeline, step_params: dict[str, dict], overrides: dict) -> dict:
    from ..tracking.context import git_info

    files = {}
    for name, params in step_params.items():
        step = pipeline.steps[name]
        literal = {k: v for k, v in step.declared.items() if v is not ...}
        for key, path in input_paths({**literal, **params}, step.notebook.parent).items():
            files[str(path)] = {"parameter": key, "sha256": fingerprint(path)}
    return {
        "pipeline": pipeline.name,
        "source": str(pipeline.source),
        "overrides": overrides,
        "steps": {
            name: {
                "notebook": str(step.notebook),
                "notebook_sha256": sha256_file(step.notebook),
                "needs": step.needs,
                "parameters": step_params[name],
            }
            for name, step in pipeline.steps.items()
        },
        "git": git_info(pipeline.source.parent),
        "python": sys.version.split()[0],
        "packages": packages(),
        "inputs": files,
    }


def changes(old: dict, new: dict) -> list[str]:
    """Plain sentences for each difference that can change results: code, data, environment."""
    out = []
    for name, step in old["steps"].items():
        now = new["steps"].get(name)
        if now is None:
            out.append(f"step {name} is no longer in the pipeline")
        elif now["notebook_sha256"] != step["notebook_sha256"]:
            out.append(f"notebook {Path(step['notebook']).name} (step {name}) changed since the run")
    og, ng = old.get("git") or {}, new.get("git") or {}
    if og.get("commit") and ng.get("commit") and og["commit"] != ng["commit"]:
        out.append(f"git commit is {ng['commit'][:12]}, the run was at {og['commit'][:12]}")
    if og.get("diff_sha256") != ng.get("diff_sha256") and (og.get("dirty") or ng.get("dirty")):
        out.append("the uncommitted changes differ from those at the run")
    for path, info in old.get("inputs", {}).items():
        if not Path(path).exists():
            out.append(f"input {path} (parameter {info['parameter']}) is gone")
        elif new.get("inputs", {}).get(path, {}).get("sha256") != info["sha256"]:
            out.append(f"input {path} (parameter {info['parameter']}) changed since the run")
    moved = [
        f"{k} {v} -> {new['packages'].get(k, 'not installed')}"
        for k, v in old.get("packages", {}).items()
        if new.get("packages", {}).get(k) != v
    ]
    if moved:
        out.append(
            f"{len(moved)} package(s) differ: {', '.join(moved[:8])}" + (" ..." if len(moved) > 8 else "")
        )
    if old.get("python") != new.get("python"):
        out.append(f"Python is {new.get('python')}, the run used {old.get('python')}")
    return out
