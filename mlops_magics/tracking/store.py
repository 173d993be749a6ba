"""Where runs go: the embedded SQLite store in the workspace, or the configured tracking server.

SQLite under several writers fails with "database is locked" (MLflow #6490) unless the database is in
WAL mode and every connection waits: the embedded store is created in WAL mode, its URI carries a
busy timeout, and :func:`retry_locked` retries the rare write that still loses the race. Its artifact
locations are ``mlflow-artifacts:/...``, relative to the workspace (``tracking/artifacts.py``), so a
served workspace hands artifacts to clients on other machines.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sqlite3
import time
import warnings

from ..config import environ, get_config
from ..workspace import Workspace, current

BUSY_TIMEOUT_S = 60
PARAM_LIMIT = 6000  # characters MLflow keeps of a param value
EXPERIMENT_NAME_LIMIT = 500  # MLflow refuses longer names
_initialised: set[str] = set()
_experiments: dict[tuple[str, str], str] = {}  # (store, name) -> id; ids never change once made
_embedded: dict[str, str] = {}  # workspace folder -> its store's URI, once the store is initialised


def tracking_uri(config=None) -> str:
    """MLFLOW_TRACKING_URI, ``MLOps.tracking_uri``, or the workspace's SQLite store (created if missing)."""
    config = config or get_config()
    uri = config.resolved_tracking_uri()
    if uri:
        if config.server:  # the service map, read once per process: a missing token is one clear line
            from ..discovery import services

            services(config.server)
        return uri
    home = config.resolved_home()
    if home not in _embedded:  # made once per workspace: a logging loop calls this per point
        ws = current(config).ensure()
        _init_embedded(ws)
        _embedded[home] = f"{ws.tracking_uri}?timeout={BUSY_TIMEOUT_S}"
    return _embedded[home]


def is_embedded(uri: str) -> bool:
    return uri.startswith("sqlite:")


def _init_embedded(ws: Workspace) -> None:
    """Create the SQLite store once, under the workspace lock: WAL mode, MLflow's schema, and the
    Default experiment's artifacts inside the workspace (``mlflow-artifacts:/0``, not ./mlruns beside
    the notebook). A store made before with ``file://`` locations is rewritten to portable ones."""
    from . import artifacts

    key = str(ws.mlflow_db)
    if key in _initialised:
        return
    artifacts.install()
    if not _schema_ready(ws):
        with ws.lock(timeout=300):
            if not _schema_ready(ws):
                with sqlite3.connect(ws.mlflow_db, timeout=BUSY_TIMEOUT_S) as con:
                    con.execute("PRAGMA journal_mode=WAL")
                from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

                with _quiet(
                    "mlflow.store.db.utils", "alembic"
                ):  # "Creating initial MLflow database tables..."
                    SqlAlchemyStore(f"{ws.tracking_uri}?timeout={BUSY_TIMEOUT_S}", artifacts.location(""))
    if artifacts.pending(ws.mlflow_db, ws.artifacts_dir):
        with ws.lock(timeout=300):
            artifacts.migrate(ws.mlflow_db, ws.artifacts_dir)
    _initialised.add(key)


@contextlib.contextmanager
def _quiet(*loggers: str):
    saved = {name: logging.getLogger(name).level for name in loggers}
    for name in loggers:
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def _schema_ready(ws: Workspace) -> bool:
    if not ws.mlflow_db.is_file():
        return False
    try:
        with sqlite3.connect(f"file:{ws.mlflow_db}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S) as con:
            return con.execute("SELECT count(*) FROM experiments WHERE experiment_id = 0").fetchone()[0] == 1
    except sqlite3.OperationalError:
        return False


def client(config=None):
    """An ``MlflowClient`` on the store in force; also points the fluent API (autolog) at it.

    ``mlflow.set_tracking_uri`` also exports MLFLOW_TRACKING_URI (and the registry URI) to the
    environment; left there, our own choice would read as the user's and outlive a change of
    ``MLOps.home``. The environment is put back as it was: MLflow's module state still holds the URI.
    """
    import mlflow

    # MLflow's own SQLAlchemy usage warns on every first query (noload); not the user's business.
    warnings.filterwarnings("ignore", message=".*noload.*", module="mlflow")
    uri = tracking_uri(config)
    if mlflow.get_tracking_uri() != uri or mlflow.get_registry_uri() != uri:
        with environ(keep=("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")):
            mlflow.set_tracking_uri(uri)
            mlflow.set_registry_uri(uri)
    return mlflow.MlflowClient(uri, registry_uri=uri)


def experiment_id(name: str | None, config=None) -> str:
    """The id of experiment ``name`` (created if missing, with artifacts in the workspace)."""
    name = name or os.environ.get("MLFLOW_EXPERIMENT_NAME") or "Default"
    if len(name) > EXPERIMENT_NAME_LIMIT:
        from ..errors import UserInputError, shown

        raise UserInputError(f"experiment {shown(name)}: a name of at most {EXPERIMENT_NAME_LIMIT} characters, "
                             "e.g. credit-risk")  # fmt: skip
    c = client(config)
    key = (c.tracking_uri, name)
    if key in _experiments:
        return _experiments[key]
    exp = c.get_experiment_by_name(name)
    if exp is not None:
        if exp.lifecycle_stage == "deleted":
            c.restore_experiment(exp.experiment_id)
        _experiments[key] = exp.experiment_id
        return exp.experiment_id
    location = None
    if is_embedded(c.tracking_uri):
        from .artifacts import location as portable

        location = portable(_safe(name))
    try:
        _experiments[key] = c.create_experiment(name, artifact_location=location)
    except Exception:  # another process created it first
        exp = c.get_experiment_by_name(name)
        if exp is None:
            raise
        _experiments[key] = exp.experiment_id
    return _experiments[key]


def experiment_name(experiment_id: str, config=None) -> str:
    """The name of an experiment id (cached; experiment ids are never reused)."""
    c = client(config)
    for (uri, name), eid in _experiments.items():
        if uri == c.tracking_uri and eid == experiment_id:
            return name
    exp = c.get_experiment(experiment_id)
    name = exp.name if exp else experiment_id
    _experiments[(c.tracking_uri, name)] = experiment_id
    return name


def _safe(name: str) -> str:
    """An experiment's artifact folder name: its name in safe characters, a long one cut and hashed."""
    safe = (
        "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "_" for ch in name) or "experiment"
    )
    if len(safe) > 100:
        import hashlib

        safe = f"{safe[:80]}-{hashlib.sha256(name.encode()).hexdigest()[:12]}"
    return safe


def retry_locked(fn=None, *, attempts: int = 8, first_wait: float = 0.05):
    """Retry a store call that failed with SQLite's "database is locked" (backing off)."""
    if fn is None:
        return functools.partial(retry_locked, attempts=attempts, first_wait=first_wait)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        wait = first_wait
        for attempt in range(attempts):
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                if "database is locked" not in str(exc) or attempt == attempts - 1:
                    raise
                time.sleep(wait)
                wait = min(wait * 2, 2.0)
        return None  # unreachable

    return wrapper


def param_value(value) -> str:
    """A value as MLflow stores a param: text, cut to the length the store keeps."""
    return str(value)[:PARAM_LIMIT]


def quote(value: str) -> str:
    """A value for an MLflow search filter, quoted: a name typed by the user can never change the query.

    MLflow's filter parser has no escape for a quote inside a string and reads a backslash as one, so a
    value holding both kinds of quote, or a backslash, cannot be searched for: refused, one line."""
    if ("'" in value and '"' in value) or "\\" in value:
        from ..errors import UserInputError, shown

        raise UserInputError(f"{shown(value)}: a name to search for cannot hold both kinds of quote nor a "
                             "backslash; give the run id instead")  # fmt: skip
    return f'"{value}"' if "'" in value else f"'{value}'"
