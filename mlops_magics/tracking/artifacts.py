"""Artifacts that travel: the embedded store keeps ``mlflow-artifacts:`` locations, never absolute paths.

The embedded SQLite store records every artifact location as ``mlflow-artifacts:/<experiment>/...``
(relative to the workspace's ``mlflow/artifacts`` folder). Served by ``mlflow server
--artifacts-destination <that folder>`` (``%track ui`` does it), those are the URIs MLflow's artifact
proxy hands out, so a client on another machine downloads runs' files and models through the server.
Read locally against the SQLite file, the same URIs resolve to the folder beside it: this module is
registered as MLflow's ``mlflow-artifacts`` repository (entry point ``mlflow.artifact_repository``), so
the kernel, ``mlflow models predict`` and any MLflow client in this environment read them, and for a
tracking server it hands over to MLflow's own proxy client, unchanged.

Workspaces made before kept ``file://`` locations; :func:`migrate` rewrites those that point into the
workspace's artifact folder (same files, portable names).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import unquote, urlparse

SCHEME = "mlflow-artifacts"
# every column where the SQLite store keeps an artifact location (MLflow 3.x schema)
_COLUMNS = (("experiments", "artifact_location"), ("runs", "artifact_uri"), ("logged_models", "artifact_location"),
            ("model_versions", "storage_location"), ("model_versions", "source"))  # fmt: skip


def location(path: str) -> str:
    """``mlflow-artifacts:/PATH``: a location under the workspace's artifact root."""
    return f"{SCHEME}:/{path.lstrip('/')}"


def local_root(tracking_uri: str | None) -> Path | None:
    """The artifact folder of a workspace's SQLite store (``.../mlflow/mlflow.db`` ->
    ``.../mlflow/artifacts``), or None for any other store."""
    if not tracking_uri or not tracking_uri.startswith("sqlite:///"):
        return None
    db = Path(unquote(tracking_uri[len("sqlite:///") :].split("?", 1)[0]))
    root = db.parent / "artifacts"
    return root if (db.parent.parent / "workspace.json").is_file() and root.is_dir() else None


def repository(artifact_uri: str, tracking_uri: str | None = None, registry_uri: str | None = None):
    """MLflow's artifact repository for ``mlflow-artifacts:`` URIs: the workspace's folder when the
    tracking store is a workspace's SQLite file, MLflow's proxy client (the server) otherwise."""
    from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository

    parsed = urlparse(artifact_uri)
    if not parsed.netloc:  # mlflow-artifacts://HOST/... always goes to that server
        import mlflow

        root = local_root(tracking_uri or mlflow.get_tracking_uri())
        if root is not None:
            from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

            return LocalArtifactRepository((root / unquote(parsed.path).lstrip("/")).as_uri())
    return MlflowArtifactsRepository(artifact_uri, tracking_uri=tracking_uri, registry_uri=registry_uri)


def install() -> None:
    """Make sure MLflow resolves ``mlflow-artifacts:`` with :func:`repository` in this process (the entry
    point does it when the package is installed; a source checkout on ``sys.path`` has no entry point)."""
    from mlflow.store.artifact.artifact_repository_registry import _artifact_repository_registry as registry

    if registry.get_registered_artifact_repositories().get(SCHEME) is not repository:
        registry.register(SCHEME, repository)


def _prefixes(root: Path) -> set[str]:
    return {root.as_uri() + "/", f"file://{root}/"}  # as Path.as_uri() and as MLflow itself writes it


def pending(db: Path, root: Path) -> bool:
    """Whether experiments of the store still keep ``file://`` locations under ``root`` (cheap: read-only)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=60) as con:
        sql = "SELECT 1 FROM experiments WHERE substr(artifact_location, 1, ?) = ? LIMIT 1"
        return any(con.execute(sql, (len(p), p)).fetchone() for p in _prefixes(root))


def migrate(db: Path, root: Path) -> int:
    """Rewrite ``file://`` locations under ``root`` as ``mlflow-artifacts:/`` ones (the same files); the
    number of values changed. Call it holding the workspace lock."""
    prefixes = _prefixes(root)
    changed = 0
    with sqlite3.connect(db, timeout=60) as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table, column in _COLUMNS:
            if table not in tables:
                continue
            for prefix in prefixes:
                changed += con.execute(
                    f"UPDATE {table} SET {column} = ? || substr({column}, ?) WHERE substr({column}, 1, ?) = ?",
                    (f"{SCHEME}:/", len(prefix) + 1, len(prefix), prefix),
                ).rowcount
    return changed
