"""Layered fixtures, as jupysql does: ``shell`` (a real InteractiveShell, once per session) ->
``ip_empty`` (clean namespace, isolated workspace) -> ``ip`` (the extension loaded)."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("mlflow", "feast", "evidently", "papermill", "kfp", "mlserver", "sklearn", "pandas")
# Test modules with a module- or class-scoped fixture (a served model, a Redis server, a kernel): their
# tests share it, so they run together on one worker.
SHARED = {p.stem for p in Path(__file__).parent.glob("test_*.py")
          if re.search(r"fixture\(scope=[\"'](module|class|package)", p.read_text())}  # fmt: skip


def pytest_xdist_make_scheduler(config, log):
    """``make test`` runs on two workers (``-n 2``): tests spread one by one, except that the tests of a
    module in SHARED stay together on one worker, so its fixture is made once, as without xdist.
    (pytest-xdist 3.8's ``--dist loadgroup`` cannot group under pytest 9.2: it renames node ids by an
    attribute pytest no longer reads, so grouped tests were split.)"""
    from xdist.scheduler import LoadScopeScheduling

    class SharedFixtureScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if Path(module).stem in SHARED else nodeid

    return SharedFixtureScheduling(config, log)


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
    from mlops_magics import config

    monkeypatch.setattr(config, "_standalone", None)  # settings made outside IPython do not leak
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


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A real `mlflow server` on 127.0.0.1 (SQLite behind it, artifacts proxied by the server)."""
    import httpx

    from mlops_magics.servers import free_port

    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    with open(root / "server.log", "wb") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{root}/server.db",
             "--artifacts-destination", str(root / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
             "--workers", "1"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    import time

    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, (root / "server.log").read_text()[-3000:]
        assert time.monotonic() < deadline, "mlflow server not ready in 120 s"
        time.sleep(0.5)
    yield url
    import os
    import signal

    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(30)


@pytest.fixture(params=["embedded", "server"])
def store(request, monkeypatch):
    """Run the test against the embedded SQLite store and against a real tracking server."""
    if request.param == "server":
        monkeypatch.setenv("MLFLOW_TRACKING_URI", request.getfixturevalue("mlflow_server"))
    return request.param


@pytest.fixture
def training_data(ip):
    """A small binary classification frame in the notebook namespace."""
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(200, 4, random_state=0)
    ip.user_ns.update(X=pd.DataFrame(X, columns=["a", "b", "c", "d"]), y=y, C=0.5)
    return ip


@pytest.fixture
def git_repo(tmp_path):
    """tmp_path as a git repository with one commit; returns a function running git there."""

    def git(*args):
        return subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True, text=True).stdout

    git("init", "-q")
    git("config", "user.email", "t@example.com")
    git("config", "user.name", "t")
    (tmp_path / ".gitignore").write_text(".mlops/\n")
    (tmp_path / "train.py").write_text("print(1)\n")
    git("add", ".")
    git("commit", "-qm", "init")
    return git


@pytest.fixture
def registered(training_data):
    """A fitted LogisticRegression logged in a run and registered as credit-risk@champion."""
    ip = training_data
    cell = "from sklearn.linear_model import LogisticRegression\nmodel = LogisticRegression().fit(X, y)"
    ip.run_cell_magic("track", "m --model model -o run", cell)
    ip.run_line_magic("track", "register last --name credit-risk --alias champion")
    return ip


def running_runs() -> list:
    """Every RUNNING run in the store in force, across experiments."""
    from mlops_magics.tracking import client

    c = client()
    exps = [e.experiment_id for e in c.search_experiments()]
    return c.search_runs(exps, filter_string="attributes.status = 'RUNNING'") if exps else []


def start_redis(folder):
    """A real redis-server on loopback with a throwaway data folder: (url, client, process)."""
    import shutil
    import time

    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server is not installed: apt-get install redis-server (.ci/run does this)")
    from mlops_magics.servers import free_port

    port = free_port()
    Path(folder).mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 30
    while True:
        try:
            client.ping()
            return f"redis://127.0.0.1:{port}", client, proc
        except redis.ConnectionError:
            assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    url, client, proc = start_redis(tmp_path_factory.mktemp("redis"))
    yield url, client
    proc.terminate()
    proc.wait(10)


def _pg_bin(name: str) -> str | None:
    import glob
    import shutil

    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))  # Debian keeps them off PATH
    return found[-1] if found else shutil.which(name)


@contextlib.contextmanager
def start_postgres(databases=("mlops",)):
    """A real PostgreSQL on loopback in a throwaway folder; yields ``postgresql://mlops@127.0.0.1:PORT``.

    PostgreSQL refuses to run as root, so as root the server runs as ``postgres`` (``Popen(user=)``: the
    child *is* the postmaster, so SIGINT reaches it); its folder is under ``tempfile.mkdtemp`` because
    pytest's tmp_path is not open to that user."""
    import shutil
    import signal
    import tempfile
    import time

    if _pg_bin("initdb") is None:
        pytest.fail("PostgreSQL is not installed: apt-get install postgresql (.ci/run does this)")
    as_pg = {"user": "postgres", "group": "postgres", "extra_groups": []} if os.geteuid() == 0 else {}
    folder = tempfile.mkdtemp(prefix="mlops-pg-")
    if as_pg:
        shutil.chown(folder, "postgres", "postgres")
    subprocess.run([_pg_bin("initdb"), "-D", f"{folder}/data", "-U", "mlops", "-A", "trust", "-E", "UTF8",
                    "--no-locale", "--no-sync"], check=True, capture_output=True, cwd=folder, **as_pg)  # fmt: skip
    from mlops_magics.servers import free_port

    port = free_port()
    with open(f"{folder}/log", "wb") as log:
        proc = subprocess.Popen([_pg_bin("postgres"), "-D", f"{folder}/data", "-p", str(port), "-h", "127.0.0.1",
                                 "-k", folder, "-c", "fsync=off", "-c", "full_page_writes=off",
                                 "-c", "synchronous_commit=off"],
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=folder, **as_pg)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while subprocess.run([_pg_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                             capture_output=True).returncode:  # fmt: skip
            assert proc.poll() is None, Path(f"{folder}/log").read_text()[-2000:]
            assert time.monotonic() < deadline, "PostgreSQL did not start in 60 s"
            time.sleep(0.1)
        for db in databases:
            subprocess.run(
                [_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "mlops", db], check=True
            )
        yield f"postgresql://mlops@127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGINT)  # "fast" shutdown
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres_url():
    with start_postgres() as url:
        yield url
