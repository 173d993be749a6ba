"""``%mlops``: a summary of the workspace, computed without importing any backend.

Counts that can be read cheaply are read (MLflow's SQLite file with the stdlib ``sqlite3``, record files
on disk); a count that would need a heavy import the user has not paid for yet says "not loaded".
"""

from __future__ import annotations

import sqlite3
import sys
from dataclasses import dataclass, field

from .display import Card, Result
from .workspace import Workspace, current

NOT_LOADED = "not loaded"


@dataclass
class WorkspaceStatus(Result):
    home: str
    exists: bool
    backends: dict[str, str] = field(default_factory=dict)
    counts: dict[str, object] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def card(self) -> Card:
        facts = [("workspace", self.home + ("" if self.exists else "  (not created yet)"))]
        facts += [(f"{part}", where) for part, where in self.backends.items()]
        facts += [(name, count) for name, count in self.counts.items()]
        from . import servers

        running = servers.running()  # the tools' own UIs this process started
        links = [(label, running[name].url) for name, label in UIS.items() if name in running]
        return Card("mlops_magics workspace", facts, notes=self.notes, links=links, kind="workspace")


UIS = {"mlflow-ui": "MLflow UI", "feast-ui": "Feast UI", "evidently-ui": "Evidently UI"}  # server -> label


def redact(uri: str) -> str:
    """A URI fit to show: any password replaced by ***."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return uri


def _sqlite_count(db, sql: str):
    if not db.is_file():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2) as con:
            return con.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:  # tables not created yet, or locked past the timeout
        return 0


DIAL_TIMEOUT = 2.0
_PORTS = {"http": 80, "https": 443, "postgresql": 5432, "mysql": 3306, "mssql": 1433}


def _silent(uri: str) -> str | None:
    """``host:port`` when the store behind ``uri`` does not take a TCP connection within DIAL_TIMEOUT;
    None when it does, or when there is nothing to dial (a file, a profile name)."""
    import socket
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(uri)
        port = parts.port or _PORTS.get(parts.scheme.split("+")[0])
    except ValueError:
        return None
    if not parts.hostname or port is None:
        return None
    try:
        with socket.create_connection((parts.hostname, port), timeout=DIAL_TIMEOUT):
            return None
    except OSError:
        return f"{parts.hostname}:{port}"


def _mlflow_counts(ws: Workspace, tracking_uri: str) -> tuple[object, object]:
    if not tracking_uri:
        runs = _sqlite_count(ws.mlflow_db, "SELECT count(*) FROM runs WHERE lifecycle_stage = 'active'")
        models = _sqlite_count(ws.mlflow_db, "SELECT count(*) FROM registered_models")
        return runs, models
    if "mlflow" not in sys.modules:
        return NOT_LOADED, NOT_LOADED
    silent = _silent(tracking_uri)
    if silent:  # MLflow's client would retry for minutes (HTTP backoff, SQLAlchemy reconnects)
        return f"unavailable (no answer from {silent} in {DIAL_TIMEOUT:g} s)", "unavailable"
    try:
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri)
        runs = sum(
            len(client.search_runs([e.experiment_id], max_results=50000)) for e in client.search_experiments()
        )
        return runs, len(client.search_registered_models())
    except Exception as exc:  # a remote server that is down must not break the summary
        return f"unavailable ({type(exc).__name__})", "unavailable"


FEATURE_VIEWS_FIELD = 6  # feast.core.Registry.feature_views (Registry.proto)


def _feature_view_count(ws: Workspace):
    """Feature views in Feast's file registry, counted from the protobuf's wire format (no Feast import)."""
    path = ws.feast_dir / "registry.db"
    if not path.is_file():
        return 0
    try:
        return _count_field(path.read_bytes(), FEATURE_VIEWS_FIELD)
    except (OSError, ValueError, IndexError):
        return "unreadable"


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[i]
        value |= (byte & 0x7F) << shift
        i, shift = i + 1, shift + 7
        if not byte & 0x80:
            return value, i


def _count_field(data: bytes, number: int) -> int:
    """How many top-level fields ``number`` a protobuf message holds."""
    count, i = 0, 0
    while i < len(data):
        key, i = _varint(data, i)
        kind = key & 7
        if key >> 3 == number:
            count += 1
        if kind == 0:
            _, i = _varint(data, i)
        elif kind == 1:
            i += 8
        elif kind == 2:
            length, i = _varint(data, i)
            i += length
        elif kind == 5:
            i += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {kind}")
    return count


def workspace_status(config=None) -> WorkspaceStatus:
    from .config import get_config
    from .monitoring.snapshots import count as count_snapshots
    from .monitoring.snapshots import evidently_dir

    config = config or get_config()
    ws = current(config)
    tracking = config.resolved_tracking_uri()
    online = redact(config.online_store) or "SQLite (embedded)"
    backends = {
        "tracking": redact(tracking) or f"MLflow on SQLite (embedded): {ws.mlflow_db}",
        "features": f"Feast repo {ws.feast_dir} (its definitions as code: feast plan, apply and ui work there), "
        f"online store: {online}",
        "serving": f"MLServer, local processes on {config.serving_host}",
        "monitoring": f"Evidently workspace {evidently_dir(config)} (evidently ui --workspace {evidently_dir(config)})",
    }
    notes = []
    if config.server:  # the team's services: each part says where it is (one GET, no backend import)
        from .discovery import services
        from .errors import MLOpsError

        try:
            team = services(config.server)
        except MLOpsError as exc:
            notes.append(f"the team's services did not answer: {exc}")
        else:
            backends.update({
                "tracking": f"team MLflow server {team.server}",
                "features": f"team Feast servers: registry grpc://{team.registry}, offline "
                            f"grpc://{team.offline_host}:{team.offline_port}, online {team.online}",
                "monitoring": f"team Evidently UI {team.evidently}",
                "local": f"{ws.root} (deployment records, downloaded data, logs)",
            })  # fmt: skip
    runs, models = _mlflow_counts(ws, tracking)
    counts = {
        "runs": runs,
        "registered models": models,
        "feature views": _feature_view_count(ws),
        "deployments": len(list(ws.deployments_dir.glob("*/deployment.json"))),
        "drift snapshots": count_snapshots(config),
    }
    if config.server:
        counts["feature views"] = "on the team's registry (%feature list)"
    return WorkspaceStatus(str(ws.root), ws.exists, backends, counts, notes)


def init(path=None, config=None) -> WorkspaceStatus:
    """Create the workspace at ``path`` (or the one in force) and work in it from now on in this process,
    unless ``MLOPS_HOME`` pins another; its summary."""
    import os

    from .config import get_config
    from .workspace import init as create

    config = config or get_config()
    ws = create(path, config)
    notes = []
    if path:
        if os.environ.get("MLOPS_HOME"):
            notes.append(
                f"created {ws.root}; MLOPS_HOME={os.environ['MLOPS_HOME']} is still the workspace in force"
            )
        else:
            config.home = str(ws.root)
    status = workspace_status(config)
    status.notes = notes
    return status
