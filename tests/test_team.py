"""``mlops-magics serve`` and ``push``: the workspace as the field's own servers a team shares.

One set of services for the module, as a team would run it: ``serve --db postgresql://... --online
redis://...`` over a real PostgreSQL and a real Redis on loopback, with a token. Notebooks then run
from other folders with another HOME and only ``MLOPS_SERVER`` (and the token) set; what they did is
checked through each tool's own client (MlflowClient, Feast's FeatureStore, Evidently's HTTP API).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from conftest import ROOT, start_postgres, start_redis

TOKEN = "team-token-5b1e0c7a"  # 12+ characters: MLflow's rule for the password it guards
CLI = str(Path(sys.executable).parent / "mlops-magics")

pytestmark = pytest.mark.timeout(2400)


def user_env(home: Path, **extra) -> dict:
    """A user's environment: their own HOME, nothing of this process's workspace or tracking settings.
    Built serving environments are a machine-wide cache (not workspace state): they are shared."""
    from mlops_magics.serving.env import cache_dir

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "MLFLOW_"))}
    home.mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), MLOPS_ENV_CACHE=str(cache_dir()), **extra)
    return env


@dataclass
class Team:
    url: str
    home: Path  # the served workspace (the server's side)
    log: Path


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    base = tmp_path_factory.mktemp("team")
    with start_postgres() as pg:
        redis, _, redis_proc = start_redis(base / "redis")
        env = user_env(base / "admin", MLOPS_HOME=str(base / "served"), MLOPS_TOKEN=TOKEN)
        log = base / "serve.log"
        with open(log, "w") as out:
            proc = subprocess.Popen([CLI, "serve", "--db", f"{pg}/mlops", "--online", redis], env=env, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True, text=True)  # fmt: skip
        try:
            deadline = time.monotonic() + 900
            while "in a notebook:" not in log.read_text():
                assert proc.poll() is None, log.read_text()[-4000:]
                assert time.monotonic() < deadline, "serve not ready in 900 s:\n" + log.read_text()[-4000:]
                time.sleep(1)
            url = next(line.split()[1] for line in log.read_text().splitlines() if line.startswith("MLflow "))
            yield Team(url, base / "served", log)
        finally:
            proc.send_signal(signal.SIGINT)  # Ctrl-C stops them all
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            redis_proc.terminate()
            redis_proc.wait(10)


@pytest.fixture(autouse=True)
def token(monkeypatch):
    """This process reads the services as a team member would: with the token."""
    monkeypatch.setenv("MLOPS_TOKEN", TOKEN)


def python(code: str, env: dict, cwd, timeout: float) -> subprocess.CompletedProcess:
    """A fresh interpreter with exactly ``env`` (a user's, not this process's)."""
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


def client(team: Team, monkeypatch):
    """MLflow's own client against the team's server, with the team's token."""
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", TOKEN)
    return MlflowClient(team.url, registry_uri=team.url)


def feast_store(team: Team, folder: Path):
    """Feast's own FeatureStore over the team's three Feast servers (a client yaml, the token in memory)."""
    import yaml

    from mlops_magics.discovery import services
    from mlops_magics.features import remote

    doc = remote.repo_config(services(team.url))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "feature_store.yaml").write_text(yaml.safe_dump(doc))
    return remote.open_store(folder, doc, TOKEN)


def evidently_records(team: Team, name: str) -> list[dict]:
    from mlops_magics.discovery import services
    from mlops_magics.monitoring import remote

    return remote.records(services(team.url).evidently, name) or []


def test_the_services_need_the_token_and_publish_where_they_are(team):
    for path in (
        "/api/2.0/mlflow/experiments/search?max_results=1",
        "/ajax-api/2.0/mlflow/experiments/search",
    ):
        assert httpx.get(team.url + path, trust_env=False).status_code == 401
    r = httpx.get(f"{team.url}/api/2.0/mlflow/experiments/get", params={"experiment_id": "0"},
                  headers={"Authorization": f"Bearer {TOKEN}"}, trust_env=False)  # fmt: skip
    tags = {t["key"]: t["value"] for t in r.json()["experiment"]["tags"]}
    assert "mlops_magics.services" in tags and TOKEN not in tags["mlops_magics.services"]
    assert TOKEN not in team.log.read_text()
    from mlops_magics.discovery import services

    evidently = services(team.url).evidently
    assert httpx.post(f"{evidently}/api/projects", json={"name": "x"}, trust_env=False).status_code in (
        401,
        403,
    )
    # every server listens on loopback only (Feast's registry would take every interface by itself)
    from urllib.parse import urlsplit

    import psutil

    svc = services(team.url)
    ports = [int(svc.registry.rsplit(":", 1)[1]), svc.offline_port, urlsplit(svc.online).port,
             urlsplit(svc.evidently).port, urlsplit(team.url).port]  # fmt: skip
    listening = [c.laddr for c in psutil.net_connections("inet") if c.status == psutil.CONN_LISTEN]
    for port in ports:
        ips = {a.ip for a in listening if a.port == port}
        assert ips and ips <= {"127.0.0.1", "::ffff:127.0.0.1"}, (port, ips)


def test_the_demo_runs_from_another_folder_with_only_the_server_setting(team, tmp_path, monkeypatch):
    """The four demo notebooks, run from an empty folder with another HOME: runs, the registered model,
    the feature views, online features and the drift check all land in the services; the folder gets
    nothing but what the user put there."""
    folder = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", folder)
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    env = user_env(tmp_path / "home", MLOPS_SERVER=team.url, MLOPS_TOKEN=TOKEN)
    r = subprocess.run([CLI, "run", "pipeline.yaml", "-p", "train.n_estimators", "40", "--no-progress"], cwd=folder,
                       env=env, capture_output=True, text=True, timeout=2000)  # fmt: skip
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before
    assert TOKEN not in r.stdout + r.stderr

    mlflow = client(team, monkeypatch)
    champion = mlflow.get_model_version_by_alias("credit-risk", "champion")
    run = mlflow.get_run(champion.run_id)
    import json

    used = {u["view"] for u in json.loads(run.data.tags["mlops_magics.features"])}
    assert used == {"applicant_profile", "credit_outcome"}
    assert run.data.tags["mlops_magics.notebook"].endswith("02_train.ipynb")
    assert "drift_share" in run.data.metrics  # the monitor step logged its check on the champion's run

    fs = feast_store(team, tmp_path / "feast-client")
    assert {"applicant_profile", "credit_outcome"} <= {v.name for v in fs.list_feature_views()}
    online = fs.get_online_features(["credit_outcome:is_bad"], [{"applicant_id": 1}]).to_dict()
    assert online["is_bad"][0] in (0, 1)
    records = evidently_records(team, "credit-risk")
    assert records and records[-1]["metadata"]["deployment"] == "credit-risk"


def test_two_notebooks_in_two_folders_share_runs_and_features(team, tmp_path):
    write = """
import pandas as pd
from sklearn.linear_model import LogisticRegression
from mlops_magics import features, tracking
df = pd.DataFrame({"shop_id": [1, 2, 3], "event_timestamp": pd.to_datetime(["2025-01-01"] * 3, utc=True),
                   "sales": [3.5, 7.0, None]})
features.register_frame(df, "shop_sales", "shop_id", "event_timestamp")
X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
print(tracking.log_fitted(LogisticRegression().fit(X, [0, 0, 1, 1]), "shared-run", X).run_id)
"""
    read = """
from mlops_magics import features, tracking
print(tracking.resolve_run("shared-run").run_id)
print(features.online(["shop_sales:sales"], [{"shop_id": 2}, {"shop_id": 3}])["sales"].tolist())
"""
    a = python(write, env=user_env(tmp_path / "alice", MLOPS_SERVER=team.url, MLOPS_TOKEN=TOKEN),
                   cwd=tmp_path, timeout=600)  # fmt: skip
    assert a.returncode == 0, a.stderr[-3000:]
    (tmp_path / "bob").mkdir()
    b = python(read, env=user_env(tmp_path / "bob-home", MLOPS_SERVER=team.url, MLOPS_TOKEN=TOKEN),
                   cwd=tmp_path / "bob", timeout=600)  # fmt: skip
    assert b.returncode == 0, b.stderr[-3000:]
    run_id, online = b.stdout.strip().splitlines()[-2:]
    assert run_id == a.stdout.strip().splitlines()[-1]
    assert online in ("[7.0, nan]", "[7.0, None]", "[7.0, <NA>]"), online
    assert not list(
        (tmp_path / "bob").iterdir()
    )  # bob's notebook folder: nothing written (a cache in ~/.cache)
    # without the token: one clear line, not a stack of HTTP errors
    c = python(read, env=user_env(tmp_path / "eve", MLOPS_SERVER=team.url), cwd=tmp_path, timeout=300)
    assert c.returncode != 0 and "set MLOPS_TOKEN" in c.stderr


def test_push_copies_a_personal_workspace_with_its_lineage(team, tmp_path, monkeypatch):
    local = tmp_path / "mine" / ".mlops"
    build = """
import pandas as pd
from sklearn.linear_model import LogisticRegression
from mlops_magics import features, monitoring, tracking
df = pd.DataFrame({"store_id": list(range(40)), "event_timestamp": pd.to_datetime(["2025-01-01"] * 40, utc=True),
                   "x": [float(i % 7) for i in range(40)], "y": [i % 2 for i in range(40)]})
features.register_frame(df, "store_stats", "store_id", "event_timestamp")
train = features.historical(["store_stats:x", "store_stats:y"], df[["store_id", "event_timestamp"]])
run = tracking.log_fitted(LogisticRegression().fit(train[["x"]], train["y"]), "pushed-run", train[["x"]])
tracking.register(run, "pushed-model", alias="champion")
shifted = train[["x", "y"]].assign(x=train["x"] * 3)
monitoring.check(f"run:{run.run_id}", shifted, save="pushed-check")  # against the run's training data
print(run.run_id)
"""
    r = python(build, env=user_env(tmp_path / "home", MLOPS_HOME=str(local)), cwd=tmp_path, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    old_run = r.stdout.strip().splitlines()[-1]
    env = user_env(tmp_path / "home", MLOPS_TOKEN=TOKEN)
    first = subprocess.run([CLI, "push", str(local), "--to", team.url], env=env, capture_output=True, text=True,
                           timeout=900)  # fmt: skip
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "runs" in first.stdout and TOKEN not in first.stdout + first.stderr

    mlflow = client(team, monkeypatch)
    version = mlflow.get_model_version_by_alias("pushed-model", "champion")
    run = mlflow.get_run(version.run_id)
    assert run.data.tags["mlops_magics.pushed_from"] == old_run and version.run_id != old_run
    assert run.info.status == "FINISHED"
    fs = feast_store(team, tmp_path / "feast-client")
    assert "store_stats" in {v.name for v in fs.list_feature_views()}
    assert fs.get_online_features(["store_stats:x"], [{"store_id": 3}]).to_dict()["x"] == [3.0]
    records = evidently_records(team, "pushed-check")
    assert len(records) == 1 and records[0]["metadata"]["reference_run"] == version.run_id  # ids rewritten

    # the lineage resolves on the team's side, from another folder
    chain = python(
        "from mlops_magics.lineage import lineage\nprint(lineage('models:/pushed-model@champion').to_text())",
        env=user_env(tmp_path / "other", MLOPS_SERVER=team.url, MLOPS_TOKEN=TOKEN), cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert chain.returncode == 0, chain.stderr[-3000:]
    assert "store_stats" in chain.stdout and version.run_id in chain.stdout and "pushed-check" in chain.stdout

    again = subprocess.run([CLI, "push", str(local), "--to", team.url], env=env, capture_output=True, text=True,
                           timeout=900)  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(mlflow.search_model_versions("name = 'pushed-model'")) == 1  # nothing copied twice
    assert len(evidently_records(team, "pushed-check")) == 1


def test_a_host_beyond_loopback_needs_a_token():
    from mlops_magics.cli import main

    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0"], env={"MLOPS_TOKEN": None})
    assert result.exit_code == 2
    assert "--host 0.0.0.0 exposes the workspace to the network: give --token" in result.output
    result = CliRunner().invoke(main, ["serve", "--token", "short"])
    assert result.exit_code == 2 and "at least 12 characters" in result.output


def test_kfp_local_runs_the_demo_with_each_step_on_its_own(team, tmp_path, monkeypatch):
    """The compiled demo, run by kfp.local: every step in kfp's own temporary folder with a HOME of its
    own, the user's workspace not shared with it: the steps meet only in the team's services. Any file
    one step left for another (a parquet, a summary, a deployment record) would fail the next step."""
    from mlops_magics.serving.env import cache_dir

    folder = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", folder)
    env = user_env(tmp_path / "home", MLOPS_SERVER=team.url, MLOPS_TOKEN=TOKEN)
    r = subprocess.run([CLI, "run", "pipeline.yaml", "--engine", "kfp-local", "-p", "train.n_estimators", "40",
                        "-p", "deployment_name", "credit-risk-kfp", "--env", f"MLOPS_ENV_CACHE={cache_dir()}"],
                       cwd=folder, env=env, capture_output=True, text=True, timeout=2400)  # fmt: skip
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    assert r.stdout.count("FINISHED") >= 4, r.stdout[-3000:]
    assert TOKEN not in r.stdout + r.stderr
    # the user's local folder for the team holds the compiled run only: no step recorded anything there
    local = tmp_path / "home" / ".cache" / "mlops-magics" / "team"
    assert not list(local.rglob("deployment.json")) and not list(local.rglob("*.parquet"))
    assert not (folder / ".mlops").exists()
    records = evidently_records(team, "credit-risk-kfp")
    assert records and records[-1]["metadata"]["deployment"] == "credit-risk-kfp"
    mlflow = client(team, monkeypatch)
    run = mlflow.get_run(mlflow.get_model_version_by_alias("credit-risk", "champion").run_id)
    assert run.data.tags["mlops_magics.notebook"].endswith("02_train.ipynb")
