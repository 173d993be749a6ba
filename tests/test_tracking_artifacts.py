"""Artifacts that travel: the embedded store keeps ``mlflow-artifacts:`` locations, the package's MLflow
server (``%track ui``) serves them, and a client elsewhere downloads a registered model through it, from a
workspace that was moved and one made with the old ``file://`` locations."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from mlops_magics.tracking import artifacts

from conftest import run_python

OLD_STYLE = """
import mlflow, numpy as np
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
from sklearn.linear_model import LogisticRegression
from mlops_magics.workspace import init
ws = init()
SqlAlchemyStore(ws.tracking_uri, ws.artifacts_dir.as_uri())  # what the package made before: file:// locations
mlflow.set_tracking_uri(ws.tracking_uri)
exp = mlflow.create_experiment("old", artifact_location=(ws.artifacts_dir / "old").as_uri())
X = np.arange(40.0).reshape(20, 2); y = (X[:, 0] > 20).astype(int)
with mlflow.start_run(experiment_id=exp) as run:
    mlflow.sklearn.log_model(LogisticRegression().fit(X, y), name="model", registered_model_name="old-model")
    mlflow.log_text("hello", "notes/hello.txt")
print(run.info.artifact_uri)
"""

NEW = """
import json, numpy as np
from sklearn.linear_model import LogisticRegression
from mlops_magics import tracking
X = np.arange(40.0).reshape(20, 2); y = (X[:, 1] > 20).astype(int)
run = tracking.log_fitted(LogisticRegression().fit(X, y), "new")
tracking.register(run, "new-model", alias="champion")
print(json.dumps({"run": run.run_id, "artifact_uri": run.artifact_uri}))
"""

CLIENT = """
import json, os, sys
import mlflow, numpy as np
# MLflow's own artifact client, as on a machine without mlops_magics
from mlflow.store.artifact.artifact_repository_registry import _artifact_repository_registry
from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository
_artifact_repository_registry.register("mlflow-artifacts", MlflowArtifactsRepository)
X = np.arange(40.0).reshape(20, 2)
old = mlflow.pyfunc.load_model("models:/old-model/1").predict(X).tolist()
new = mlflow.pyfunc.load_model("models:/new-model@champion").predict(X).tolist()
run_id = mlflow.search_runs(experiment_names=["old"], output_format="list")[0].info.run_id
notes = open(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="notes/hello.txt")).read()
mlflow.set_experiment("remote")
with mlflow.start_run() as run:  # a run created through the server keeps its files in the workspace too
    mlflow.log_text("from afar", "remote.txt")
print(json.dumps({"old": old, "new": new, "notes": notes, "remote_run": run.info.run_id,
                  "remote_uri": run.info.artifact_uri, "files": os.listdir(".")}))
"""


def _locations(db) -> list[str]:
    with sqlite3.connect(db) as con:
        return [r[0] for t, c in (("experiments", "artifact_location"), ("runs", "artifact_uri"),
                                  ("logged_models", "artifact_location"), ("model_versions", "storage_location"))
                for r in con.execute(f"SELECT {c} FROM {t}")]  # fmt: skip


def test_a_moved_workspace_serves_its_models_to_a_client_elsewhere(tmp_path, monkeypatch):
    from mlops_magics import tracking

    made, moved = tmp_path / "made" / ".mlops", tmp_path / "moved" / ".mlops"
    for code in (OLD_STYLE, NEW):
        done = run_python(code, env={"MLOPS_HOME": str(made)}, timeout=300, cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.splitlines()[-1])["artifact_uri"].startswith(
        "mlflow-artifacts:/0/"
    )  # Default, rewritten
    # the old file:// locations were rewritten on first use: the store names no path of this machine
    locations = _locations(made / "mlflow" / "mlflow.db")
    assert len(locations) >= 8 and all(loc.startswith("mlflow-artifacts:/") for loc in locations), locations
    shutil.move(tmp_path / "made", tmp_path / "moved")  # as on another machine: the old paths are gone

    # the plain mlflow CLI reads the moved workspace's SQLite store (this package's artifact resolver)
    cli = subprocess.run([sys.executable, "-m", "mlflow", "artifacts", "download", "-u", "models:/new-model/1",
                          "-d", str(tmp_path / "cli")], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                         env={**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{moved}/mlflow/mlflow.db"})  # fmt: skip
    assert cli.returncode == 0, cli.stderr[-3000:]
    assert (tmp_path / "cli" / "MLmodel").is_file()

    monkeypatch.setenv("MLOPS_HOME", str(moved))
    server = tracking.start_ui()
    try:
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS", "MLFLOW"))}
        env["MLFLOW_TRACKING_URI"] = server.url
        done = subprocess.run([sys.executable, "-c", CLIENT], cwd=elsewhere, env=env, capture_output=True,
                              text=True, timeout=600)  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        got = json.loads(done.stdout.splitlines()[-1])
        import mlflow
        import numpy as np

        tracking.client()  # the kernel, on the moved store: the same models, read from its folder
        X = np.arange(40.0).reshape(20, 2)
        for key, uri in (("old", "models:/old-model/1"), ("new", "models:/new-model@champion")):
            assert got[key] == mlflow.pyfunc.load_model(uri).predict(X).tolist()
        assert got["old"] != got["new"] and set(got["new"]) == {0, 1}
        assert got["notes"] == "hello" and got["files"] == []  # nothing written in the client's folder
        assert got["remote_uri"].startswith("mlflow-artifacts:/")
        log = server.log_path.read_text()
        assert "/api/2.0/mlflow-artifacts/artifacts/0/models/" in log  # downloaded through the server
        # the kernel reads the run the client made through the server, from the same folder
        path = mlflow.artifacts.download_artifacts(run_id=got["remote_run"], artifact_path="remote.txt",
                                                   dst_path=str(tmp_path / "k"))  # fmt: skip
        assert Path(path).read_text() == "from afar"
        assert list((moved / "mlflow" / "artifacts").rglob("remote.txt"))
    finally:
        tracking.stop_ui()


def test_the_resolver_is_local_only_for_a_workspace_store(tmp_path):
    from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository
    from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository

    from mlops_magics.workspace import init

    ws = init(tmp_path / "ws")
    local = artifacts.repository(
        "mlflow-artifacts:/exp/run/artifacts", tracking_uri=f"{ws.tracking_uri}?timeout=5"
    )
    assert isinstance(local, LocalArtifactRepository)
    assert local.artifact_dir == str(ws.artifacts_dir / "exp" / "run" / "artifacts")
    served = artifacts.repository("mlflow-artifacts:/exp/run", tracking_uri="http://127.0.0.1:5000")
    assert isinstance(served, MlflowArtifactsRepository)
    assert artifacts.local_root(f"sqlite:///{tmp_path}/other.db") is None  # not a workspace's store
    assert artifacts.local_root("postgresql://u@h/db") is None
