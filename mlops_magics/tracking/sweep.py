"""Runs left RUNNING by a kernel that died are marked KILLED.

At ``%load_ext`` this reads the embedded SQLite store with the stdlib only (no MLflow import); runs of a
tracking server are swept the first time tracking is used in the session (:func:`runs.sweep_dead_runs`).
A run is touched only when its owner tags name this host and a process that is gone, so live runs of
other kernels are left alone.
"""

from __future__ import annotations

import sqlite3
import time

from .context import owner_alive
from .store import BUSY_TIMEOUT_S, TAG

KILLED_REASON = "owning kernel process died"


def sweep_embedded(db_path) -> list[str]:
    """Mark dead kernels' RUNNING runs KILLED in the SQLite store at ``db_path``; return their ids."""
    if not db_path.is_file():
        return []
    try:
        with sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_S) as con:
            rows = con.execute(
                "SELECT r.run_uuid, t.key, t.value FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid "
                "WHERE r.status = 'RUNNING' AND t.key LIKE ?",
                (f"{TAG}.%",),
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
                con.execute(
                    "DELETE FROM tags WHERE run_uuid = ? AND key = ?", (run_id, f"{TAG}.killed_reason")
                )
                con.execute(
                    "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)",
                    (f"{TAG}.killed_reason", KILLED_REASON, run_id),
                )
            return dead
    except sqlite3.OperationalError:  # no MLflow schema yet
        return []


def on_load(ip) -> None:
    """``%load_ext`` hook: sweep the embedded store of the workspace in force."""
    from ..config import get_config
    from ..workspace import current

    config = get_config()
    if config.resolved_tracking_uri():
        return
    dead = sweep_embedded(current(config).mlflow_db)
    if dead:
        print(f"mlops_magics: marked {len(dead)} run(s) of a dead kernel KILLED: {', '.join(dead)}")
