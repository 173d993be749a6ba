"""Feast against the team's servers (``MLOps.server``): the registry, offline and online stores are
Feast's own ``remote`` types, found through the service map. A view's data goes up through MLflow's
artifact proxy, the one upload path the stack has (Feast's write APIs need the file on the server
already), and the server's Feast repo reads it from the artifacts folder; materialization then runs on
the feature server. Files come back down the same way, into the user's cache, when a run's training data
is read again."""

from __future__ import annotations

from pathlib import Path

from ..errors import BackendError


def services(config):
    from ..discovery import services as discover

    return discover(config.server)


def repo_config(team) -> dict:
    """The client's ``feature_store.yaml``: no path of the server's, no secret."""
    return {"project": team.feast_project, "provider": "local",
            "registry": {"registry_type": "remote", "path": team.registry, "cache_ttl_seconds": 5},
            "offline_store": {"type": "remote", "host": team.offline_host, "port": team.offline_port},
            "online_store": {"type": "remote", "path": team.online},
            "entity_key_serialization_version": 3}  # fmt: skip


def auth(token: str | None) -> dict | None:
    """Feast's servers take the team's token as their intra-server secret (an unsigned token naming it)."""
    if not token:
        return None
    import jwt

    return {"type": "oidc", "token": jwt.encode({"preferred_username": token}, "", algorithm="none")}


def open_store(repo: Path, doc: dict, token: str | None):
    """A ``FeatureStore`` over the remote servers; the token only in memory, never in the yaml."""
    from feast import FeatureStore
    from feast.repo_config import RepoConfig

    if not token:
        return FeatureStore(repo_path=str(repo))
    return FeatureStore(repo_path=str(repo), config=RepoConfig(repo_path=repo, **doc, auth=auth(token)))


def upload(team, view: str, path: Path) -> str:
    """Put a version's parquet file where the server's Feast repo reads it; returns the source path."""
    from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository

    try:
        MlflowArtifactsRepository(f"{team.data_artifacts}/{view}", tracking_uri=team.server).log_artifact(
            str(path)
        )
    except Exception as exc:
        raise BackendError(f"upload of {view}/{path.name} to {team.server}", exc) from exc
    return f"{team.data_prefix}/{view}/{path.name}"


def download(team, view: str, path: Path) -> Path:
    """The file of a version, from the team's artifacts into ``path`` (the local cache), once."""
    if path.is_file():
        return path
    from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        MlflowArtifactsRepository(
            f"{team.data_artifacts}/{view}", tracking_uri=team.server
        ).download_artifacts(path.name, str(path.parent))
    except Exception:  # not there (a view registered from Feast code, or data deleted): the caller says so
        return path
    return path
