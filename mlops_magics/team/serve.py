"""``mlops-magics serve``: a workspace as the field's own servers, never home-made ones.

- ``mlflow server`` with proxied artifacts (``--artifacts-destination`` the workspace's artifacts folder),
  its backend SQLite in the workspace, or PostgreSQL with ``--db``;
- Feast's registry (gRPC), offline (Arrow Flight) and online (HTTP) servers over the workspace's Feast
  repo, with a SQL registry on PostgreSQL with ``--db`` and the Redis online store with ``--online``;
- ``evidently ui`` over the workspace's Evidently projects.

Every server binds 127.0.0.1 unless asked otherwise; a host other than loopback needs ``--token`` (or an
explicit ``--insecure``): MLflow then checks it (its basic-auth app with a token function), Feast's three
servers share it (their intra-server secret), the Evidently UI takes it for writes. Last, the service map
is published on MLflow (team/discovery.py), so a notebook needs one setting.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .. import discovery, servers
from ..display import Card, Result
from ..errors import UserInputError
from ..workspace import Workspace

LOOPBACK = ("127.0.0.1", "localhost", "::1")
PORTS = {
    "mlflow": 5000,
    "feast_registry": 6570,
    "feast_offline": 8815,
    "feast_online": 6566,
    "evidently": 8000,
}
DATA_FOLDER = "feast-data"  # under MLflow's artifacts: where notebooks upload a view's data


@dataclass
class Team(Result):
    home: str
    host: str
    urls: dict[str, str] = field(default_factory=dict)
    secured: bool = False

    @property
    def setting(self) -> str:
        return self.urls["MLflow"]

    def card(self) -> Card:
        facts = [*self.urls.items(), ("workspace", self.home),
                 ("token", "required (MLOPS_TOKEN in notebooks)" if self.secured else "none (loopback only)")]  # fmt: skip
        notes = [
            f"in a notebook:  %config MLOps.server = {self.setting!r}   (or MLOPS_SERVER={self.setting})"
        ]
        return Card("mlops_magics team services", facts, status="RUNNING", notes=notes, kind="team")


def psycopg_url(db: str) -> str:
    """``postgresql://...`` as SQLAlchemy reads it with psycopg 3 (the driver Feast's extra brings)."""
    parts = urlsplit(db)
    if parts.scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise UserInputError(f"--db {db!r}: give a PostgreSQL URL, e.g. postgresql://mlops@db.example/mlops")
    return urlunsplit(parts._replace(scheme="postgresql+psycopg"))


def _databases(db: str) -> tuple[str, str]:
    """One database for MLflow as given, a second one beside it for Feast's registry (created if missing):
    the two tools' tables must not meet."""
    import sqlalchemy

    url = psycopg_url(db)
    parts = urlsplit(url)
    name = parts.path.strip("/") or "mlops"
    feast_db = f"{name}_feast"
    engine = sqlalchemy.create_engine(
        urlunsplit(parts._replace(path=f"/{name}")), isolation_level="AUTOCOMMIT"
    )
    with engine.connect() as con:
        exists = con.execute(
            sqlalchemy.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": feast_db}
        ).first()
        if not exists:
            con.execute(sqlalchemy.text(f'CREATE DATABASE "{feast_db}"'))
    engine.dispose()
    return urlunsplit(parts._replace(path=f"/{name}")), urlunsplit(parts._replace(path=f"/{feast_db}"))


def feature_store_yaml(ws: Workspace, registry_db: str | None, online: str | None, token: str | None) -> str:
    import yaml

    from ..features.repo import PROJECT, online_store_config

    registry = {"registry_type": "sql", "path": registry_db, "cache_ttl_seconds": 2} if registry_db else \
        {"path": str(ws.feast_dir / "registry.db"), "cache_ttl_seconds": 2}  # fmt: skip
    doc = {"project": PROJECT, "provider": "local", "registry": registry,
           "online_store": online_store_config(online or "", ws), "offline_store": {"type": "file"},
           "entity_key_serialization_version": 3}  # fmt: skip
    if token:  # Feast's intra-server secret: the one static token its three servers accept alike
        doc["auth"] = {
            "type": "oidc",
            "client_id": "mlops-magics",
            "auth_discovery_url": "http://127.0.0.1:9/none",
        }
    return yaml.safe_dump(doc, sort_keys=False)


def _port(host: str, wanted: int) -> int:
    return wanted if not servers.port_in_use(host, wanted) else servers.free_port(host)


def serve(home: str | os.PathLike | None = None, *, db: str | None = None, online: str | None = None,
          host: str = "127.0.0.1", token: str | None = None, insecure: bool = False, log=print) -> Team:  # fmt: skip
    """Start the team's services over the workspace at ``home`` (default: the one in force)."""
    from ..workspace import current

    if host not in LOOPBACK and not token and not insecure:
        raise UserInputError(f"--host {host} exposes the workspace to the network: give --token T (12+ characters), "
                             "or --insecure if the network is yours alone")  # fmt: skip
    if token is not None and len(token) < 12:
        raise UserInputError("--token: use at least 12 characters (MLflow's rule for the password it guards)")
    ws = (Workspace(Path(home).expanduser().resolve()) if home else current()).ensure()
    mlflow_db, feast_db = _databases(db) if db else (None, None)
    (ws.feast_dir / "feature_store.yaml").write_text(feature_store_yaml(ws, feast_db, online, token))
    ports = {name: _port(host, p) for name, p in PORTS.items()}
    env = {"MLOPS_HOME": str(ws.root)}
    if token:
        env["INTRA_COMMUNICATION_BASE64"] = token  # compared as it is with the name in the client's token
    bin_dir = Path(sys.executable).parent
    started = []
    try:
        started.append(_mlflow(ws, mlflow_db, host, ports["mlflow"], token, env))
        log(f"MLflow    {started[-1].url}")
        feast_env = {**env, "HOME": str(ws.logs_dir / "feast-home")}  # gunicorn's control socket, its own
        started.append(servers.start(
            "team-feast-registry", [sys.executable, "-m", "mlops_magics.team.registry_server", host,
                                    str(ports["feast_registry"]), str(ws.feast_dir)],
            host=host, port=ports["feast_registry"], log_path=ws.logs_dir / "feast-registry.log", cwd=ws.feast_dir,
            ready=lambda s: servers.port_in_use(host, s.port), timeout=180, env=feast_env))  # fmt: skip
        log(f"Feast registry  grpc://{host}:{ports['feast_registry']}")
        started.append(servers.start(
            "team-feast-offline", [str(bin_dir / "feast"), "serve_offline", "-h", host, "-p", str(ports["feast_offline"])],
            host=host, port=ports["feast_offline"], log_path=ws.logs_dir / "feast-offline.log", cwd=ws.feast_dir,
            ready=lambda s: servers.port_in_use(host, s.port), timeout=180, env=feast_env))  # fmt: skip
        log(f"Feast offline   grpc://{host}:{ports['feast_offline']}")
        started.append(servers.start(
            "team-feast-online", [str(bin_dir / "feast"), "serve", "-h", host, "-p", str(ports["feast_online"])],
            host=host, port=ports["feast_online"], log_path=ws.logs_dir / "feast-online.log", cwd=ws.feast_dir,
            ready=lambda s: servers.http_ok(f"{s.url}/health"), timeout=240, env=feast_env))  # fmt: skip
        log(f"Feast online    {started[-1].url}")
        evidently = [sys.executable, "-c", "from evidently.cli import app; app()", "ui", "--workspace",
                     str(ws.monitoring_dir / "evidently"), "--host", host, "--port", str(ports["evidently"])]  # fmt: skip
        if token:
            evidently += ["--secret", token]
        started.append(servers.start(
            "team-evidently", evidently, host=host, port=ports["evidently"], log_path=ws.logs_dir / "evidently-team.log",
            ready=lambda s: servers.http_ok(f"{s.url}/api/version"), timeout=180, env=env))  # fmt: skip
        log(f"Evidently {started[-1].url}")
        url = started[0].url
        with _token_env(token):
            _publish(url, {
                "version": 1, "feast_project": "mlops",
                "feast_registry": {"port": ports["feast_registry"]}, "feast_offline": {"port": ports["feast_offline"]},
                "feast_online": {"port": ports["feast_online"]}, "evidently": {"port": ports["evidently"]},
                "feast_data": {"artifacts": f"mlflow-artifacts:/{DATA_FOLDER}",
                               "source_prefix": f"../mlflow/artifacts/{DATA_FOLDER}"},
                "auth": {"mlflow": "bearer", "feast": "oidc-intra", "evidently": "secret"} if token else {},
            })  # fmt: skip
    except BaseException:
        for server in reversed(started):
            servers.stop(server.name)
        raise
    shown = {"MLflow": url, "Feast registry": f"grpc://{host}:{ports['feast_registry']}",
             "Feast offline": f"grpc://{host}:{ports['feast_offline']}", "Feast online": started[3].url,
             "Evidently": started[4].url}  # fmt: skip
    return Team(str(ws.root), host, shown, secured=bool(token))


def _token_env(token: str | None):
    from ..config import environ

    return environ(MLFLOW_TRACKING_TOKEN=token) if token else environ()


def _mlflow(
    ws: Workspace, db: str | None, host: str, port: int, token: str | None, env: dict
) -> servers.Server:
    backend = db or f"sqlite:///{ws.mlflow_db}"
    if not db:
        from ..tracking.store import tracking_uri

        tracking_uri()  # the embedded store exists, in WAL mode, before the server opens it
    cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend, "--serve-artifacts",
           "--artifacts-destination", str(ws.artifacts_dir), "--host", host, "--port", str(port), "--workers", "1"]  # fmt: skip
    env = {**env, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}  # MLflow's GenAI job runners: 7 processes
    if host not in LOOPBACK:
        cmd += [
            "--allowed-hosts",
            f"{host},{host}:{port},localhost,localhost:{port},127.0.0.1,127.0.0.1:{port}",
        ]
    if token:
        config = ws.root / "mlflow" / "auth.ini"
        config.write_text("[mlflow]\ndefault_permission = READ\n"
                          f"database_uri = sqlite:///{ws.root / 'mlflow' / 'basic_auth.db'}\nadmin_username = admin\n"
                          "authorization_function = mlops_magics.team.mlflow_auth:authenticate\n")  # fmt: skip
        cmd += ["--app-name", "basic-auth"]
        env.update(MLFLOW_AUTH_CONFIG_PATH=str(config), MLFLOW_AUTH_ADMIN_PASSWORD=token,
                   MLFLOW_FLASK_SERVER_SECRET_KEY=secrets.token_hex(16), MLOPS_SERVER_TOKEN=token)  # fmt: skip
    return servers.start("team-mlflow", cmd, host=host, port=port, log_path=ws.logs_dir / "mlflow-team.log",
                         ready=lambda s: servers.http_ok(f"{s.url}/health"), timeout=240, env=env)  # fmt: skip


def _publish(server: str, services_map: dict) -> None:
    """The service map on experiment 0, written last, once every server answers (discovery reads it)."""
    from mlflow import MlflowClient

    from ..tracking.store import retry_locked

    retry_locked(MlflowClient(server).set_experiment_tag)(
        "0", discovery.SERVICES_TAG, json.dumps(services_map, sort_keys=True)
    )
