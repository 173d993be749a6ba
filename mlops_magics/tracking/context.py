"""Where a run came from: notebook, cell, git commit, papermill parameters, packages, owning process.

Notebook path, in order: ``MLOPS_NOTEBOOK_PATH`` (set by ``mlops-magics run``), VS Code's
``__vsc_ipynb_file__``, ``JPY_SESSION_NAME`` (JupyterLab and Notebook 7 set it to the notebook's path),
else none. Under papermill the kernel sees the injected ``# Parameters`` cell in its input history;
its assignments are the run's papermill parameters (MLflow #2945, #19151 record only ipykernel_launcher).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.metadata
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from .. import procs, schema

# Libraries whose versions matter for reproducing a model, recorded when imported in the session.
PACKAGES = (
    "numpy", "pandas", "scikit-learn:sklearn", "scipy", "xgboost", "lightgbm", "catboost", "torch",
    "tensorflow", "statsmodels", "mlflow", "feast", "evidently", "pyarrow", "mlops-magics:mlops_magics",
)  # fmt: skip


def notebook_path(user_ns: dict | None = None) -> str | None:
    for candidate in (
        os.environ.get("MLOPS_NOTEBOOK_PATH"),
        (user_ns or {}).get("__vsc_ipynb_file__"),
        os.environ.get("JPY_SESSION_NAME"),
    ):
        if candidate and str(candidate).endswith(".ipynb"):
            return os.path.abspath(str(candidate))
    return None


def papermill_parameters(user_ns: dict | None) -> dict | None:
    """The parameters papermill injected, read from the kernel's input history (``In``)."""
    for source in reversed((user_ns or {}).get("In", []) or []):
        if source.lstrip().startswith("# Parameters"):
            params = {}
            try:
                tree = ast.parse(source)
            except SyntaxError:
                return None
            for node in tree.body:
                if (
                    isinstance(node, ast.Assign)
                    and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)
                ):
                    try:
                        params[node.targets[0].id] = ast.literal_eval(node.value)
                    except ValueError:
                        params[node.targets[0].id] = ast.unparse(node.value)
            return params
    return None


def git_info(where: str | os.PathLike) -> dict:
    """Commit, dirty flag and a hash of the uncommitted diff of the repository holding ``where``.

    One ``git status --porcelain=v2 --branch`` gives both the commit and the changes.
    """

    def git(*args):
        out = subprocess.run(["git", *args], cwd=where, capture_output=True, text=True, timeout=10)
        return out.stdout if out.returncode == 0 else None

    try:
        status = git("status", "--porcelain=v2", "--branch", "--untracked-files=no")
    except (OSError, subprocess.TimeoutExpired):
        return {}
    if not status:
        return {}
    lines = status.splitlines()
    commit = next((line.split()[2] for line in lines if line.startswith("# branch.oid ")), None)
    if commit is None or commit == "(initial)":
        return {}
    dirty = any(not line.startswith("#") for line in lines)
    info = {"commit": commit, "dirty": dirty}
    if dirty:
        info["diff_sha256"] = hashlib.sha256((git("diff", "HEAD") or "").encode()).hexdigest()
    return info


@functools.cache
def installed_version(dist: str) -> str | None:
    """Installed version of a distribution (cached: reading metadata costs milliseconds each time)."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def package_versions() -> dict[str, str]:
    out = {}
    for entry in PACKAGES:
        dist, _, module = entry.partition(":")
        if (module or dist) in sys.modules and installed_version(dist):
            out[dist] = installed_version(dist)
    return out


def process_tags() -> dict[str, str]:
    """Who owns the run: a run left RUNNING by a dead process is found by these."""
    return dict(_process_tags(os.getpid()))  # keyed by pid: a forked child is a different owner


@functools.cache
def _process_tags(pid: int) -> tuple[tuple[str, str], ...]:
    return tuple(schema.owner_tags(socket.gethostname(), pid, procs.start_time(pid)).items())


def owner_alive(tags: dict) -> bool:
    """False when the run's owning process on this host is gone (or its pid was reused)."""
    host, pid, started = schema.owner(tags)
    if host != socket.gethostname() or pid is None:
        return True  # not ours to judge
    return procs.alive(pid, started)


def cell_sha256(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()


def run_tags(user_ns: dict | None = None, cell: str | None = None) -> dict[str, str]:
    """Every lineage tag of a run started now from this kernel."""
    tags = dict(process_tags())
    nb = notebook_path(user_ns)
    where = Path(nb).parent if nb else Path.cwd()
    if nb:
        tags[schema.NOTEBOOK] = nb
        tags["mlflow.source.name"] = nb
        tags["mlflow.source.type"] = "NOTEBOOK"
    if cell is not None:
        tags[schema.CELL_SHA256] = cell_sha256(cell)
    git = git_info(where)
    if git:
        tags["mlflow.source.git.commit"] = git["commit"]
        tags[schema.GIT_COMMIT] = git["commit"]
        tags[schema.GIT_DIRTY] = str(git["dirty"]).lower()
        if "diff_sha256" in git:
            tags[schema.GIT_DIFF_SHA256] = git["diff_sha256"]
    params = papermill_parameters(user_ns)
    if params is not None:
        tags[schema.PAPERMILL] = "true"
        tags[schema.PAPERMILL_PARAMETERS] = json.dumps(params, default=str, sort_keys=True)[:5000]
    ids = pipeline_ids()
    if ids.get("MLOPS_PIPELINE_RUN_ID"):
        tags[schema.PIPELINE_RUN] = ids["MLOPS_PIPELINE_RUN_ID"]
    if ids.get("MLOPS_PIPELINE_STEP_RUN_ID"):  # nests under the step's run (mlops-magics run)
        tags[schema.PIPELINE_STEP_RUN] = ids["MLOPS_PIPELINE_STEP_RUN_ID"]
        tags["mlflow.parentRunId"] = ids["MLOPS_PIPELINE_STEP_RUN_ID"]
        if os.environ.get("MLOPS_PIPELINE_STEP"):
            tags[schema.PIPELINE_STEP] = os.environ["MLOPS_PIPELINE_STEP"]
    versions = package_versions()
    if versions:
        tags[schema.PACKAGES] = ",".join(f"{k}=={v}" for k, v in sorted(versions.items()))
    tags[schema.STARTED] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    return tags


PIPELINE_IDS = ("MLOPS_PIPELINE_RUN_ID", "MLOPS_PIPELINE_STEP_RUN_ID")


def pipeline_ids(wait: float = 600) -> dict[str, str]:
    """The pipeline run and step run this kernel works under (``mlops-magics run``), from the
    environment or from the file ``MLOPS_PIPELINE_IDS`` names. The local engine starts a step's kernel
    while it opens the MLflow store and makes those runs, and writes the file once they exist: a cell
    that starts a run waits for it (it is there long before MLflow has loaded in the kernel)."""
    ids = {k: os.environ[k] for k in PIPELINE_IDS if os.environ.get(k)}
    path = os.environ.get("MLOPS_PIPELINE_IDS")
    if ids or not path:
        return ids
    deadline = time.monotonic() + wait
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        found = json.loads(Path(path).read_text())
    except (OSError, ValueError):  # never written (the engine failed before its runs existed)
        return {}
    os.environ.update({k: str(v) for k, v in found.items() if k in PIPELINE_IDS and v})  # for what it starts
    return {k: os.environ[k] for k in PIPELINE_IDS if os.environ.get(k)}
