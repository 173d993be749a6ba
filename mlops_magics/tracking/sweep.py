"""Runs left RUNNING by a process that died are marked KILLED — one sweep for every kind of store.

A SQLite store (the embedded one, or a ``sqlite:`` tracking URI) is swept with the stdlib only, so
``%load_ext`` can do it without importing MLflow; any other store through MLflow's client. Every store
is swept the first time this process writes to it (:func:`once`) and before every read of runs
(:func:`before_read`: ``%track runs``, ``show``, ``compare``, lineage), so no listing shows a dead
kernel's run as RUNNING. A run is touched only when its owner tags name this host and a process that is
gone, so live runs of other kernels are left alone.
"""

from __future__ import annotations

import functools
import socket
import sqlite3
import time
from pathlib import Path
from urllib.parse import urlsplit

from .. import schema
from .context import owner_alive
from .store import BUSY_TIMEOUT_S

KILLED_REASON = "owning kernel process died"
_swept: set[str] = set()


@functools.lru_cache(maxsize=64)  # per point of a logging loop
def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` tracking URI, or None for any other store."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(
        urlsplit(uri).path[1:] if uri.startswith("sqlite:////") else uri[len("sqlite:///") :].split("?")[0]
    )


def sweep_sqlite(db_path: Path) -> list[str]:
    """Mark dead processes' RUNNING runs KILLED in the SQLite store at ``db_path``; return their ids."""
    if not Path(db_path).is_file():
        return []
    try:
        with sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_S) as con:
            rows = con.execute(
                "SELECT r.run_uuid, t.key, t.value FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid "
                "WHERE r.status = 'RUNNING' AND t.key LIKE ?",
                (f"{schema.PREFIX}.%",),
            ).fetchall()
            owners: dict[str, dict] = {}
            for run_id, key, value in rows:
                owners.setdefault(run_id, {})[key] = value
            dead = [run_id for run_id, tags in owners.items() if not owner_alive(tags)]
            now = int(time.time() * 1000)
            for run_id in dead:
                con.execute(
                    "UPDATE runs SET status = 'KILLED', end_time = ? WHERE run_uuid = ? AND status = 'RUNNING'",
                    (now, run_id),
                )
                con.execute("DELETE FROM tags WHERE run_uuid = ? AND key = ?", (run_id, schema.KILLED_REASON))
                con.execute(
                    "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)",
                    (schema.KILLED_REASON, KILLED_REASON, run_id),
                )
            return dead
    except sqlite3.OperationalError:  # no MLflow schema yet
        return []


def sweep_client(c) -> list[str]:
    """The same through MLflow's client, for a tracking server or any other store."""
    from .store import quote, retry_locked

    exps = [e.experiment_id for e in c.search_experiments()]
    if not exps:
        return []
    running = c.search_runs(
        exps,
        filter_string=f"attributes.status = 'RUNNING' and tags.`{schema.HOST}` = {quote(socket.gethostname())}",
        max_results=1000,
    )
    dead = [r.info.run_id for r in running if not owner_alive(r.data.tags)]
    for run_id in dead:
        try:
            retry_locked(c.set_tag)(run_id, schema.KILLED_REASON, KILLED_REASON)
        except Exception:  # the reason is a courtesy; the status is what matters
            pass
        retry_locked(c.set_terminated)(run_id, "KILLED")
    return dead


def sweep(uri: str, c=None) -> list[str]:
    """Sweep the store at ``uri`` (``c``: an MlflowClient on it, for stores that are not SQLite)."""
    path = sqlite_path(uri)
    if path is not None:
        return sweep_sqlite(path)
    if c is None:
        return []
    return sweep_client(c)


def once(c) -> None:
    """Sweep the store of client ``c`` the first time this process uses it, before any read or write."""
    if c.tracking_uri not in _swept:
        before_read(c)


def before_read(c) -> None:
    """Sweep the store of client ``c`` before runs are read from it: one stdlib query for SQLite (about 3 ms
    with 5,000 runs in the store), two calls through MLflow's client for a server. On this process's first
    touch of a SQLite store, metric points that a dead process had not yet written are replayed first."""
    if c.tracking_uri not in _swept:
        path = sqlite_path(c.tracking_uri)
        if path is not None:
            from .pending import recover

            recover(c.tracking_uri, path)
    _swept.add(c.tracking_uri)
    sweep(c.tracking_uri, c)


def on_load(ip) -> None:
    """``%load_ext`` hook: sweep the store in force when it is a SQLite file (stdlib only)."""
    from ..config import get_config
    from ..workspace import current

    config = get_config()
    uri = config.resolved_tracking_uri() or current(config).tracking_uri
    path = sqlite_path(uri)
    dead = sweep_sqlite(path) if path is not None else []
    if dead:
        print(f"mlops_magics: marked {len(dead)} run(s) of a dead kernel KILLED: {', '.join(dead)}")
