"""Metric points from a loop: on disk at once, in the store in batches.

One ``log_batch`` per point gives about 60 points a second on SQLite (a transaction each); a training
loop logs thousands. So ``tracking.log`` with metrics only, on a SQLite store (the embedded one), hands
its points here:

- each call appends one line to this process's journal (``pending/HOST-PID-START.jsonl`` beside the
  database) with one ``os.write`` on an ``O_APPEND`` descriptor: a kernel that is killed the next
  instant keeps what it logged (the bytes are the operating system's);
- a thread writes them into the store with ``log_batch`` (up to 1,000 points a batch) as they come;
- whatever reads or ends a run flushes first (``flush``), and so does the interpreter's exit;
- a journal whose process died is replayed into the store by the next process that opens it
  (``recover``, run with the dead-run sweep) and removed. MLflow skips points it already holds, so a
  batch stored just before the death is not doubled.

The journal is emptied whenever everything in it is in the store, and removed at a clean exit.
"""

from __future__ import annotations

import atexit
import json
import os
import socket
import threading
import time
from pathlib import Path

BATCH = 1000  # MLflow's limit of metrics per log_batch
_journals: dict[str, _Journal] = {}
_guard = threading.Lock()


def _owner_name() -> str:
    """HOST-PID-START(ms) of this process: the owner identity its runs carry (context.process_tags)."""
    from .. import schema
    from .context import process_tags

    host, pid, started = schema.owner(process_tags())
    return f"{host}-{pid}-{int(started * 1000)}"


class _Journal:
    def __init__(self, uri: str, db: Path):
        self.uri = uri
        self.folder = db.parent / "pending"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / f"{_owner_name()}.jsonl"
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.queue: list[tuple[str, list]] = []
        self.lock = threading.Lock()  # the queue and the file
        self.writing = threading.Lock()  # one writer into the store at a time
        self.wake = threading.Event()
        self.client = None
        threading.Thread(target=self._loop, name="mlops-metrics", daemon=True).start()

    def add(self, run_id: str, points: list) -> None:
        line = (json.dumps({"run": run_id, "points": points}) + "\n").encode()
        with self.lock:
            os.write(self.fd, line)
            self.queue.append((run_id, points))
        self.wake.set()

    def _loop(self) -> None:
        while True:
            self.wake.wait()
            time.sleep(0.05)  # let a loop's next points join this batch
            self.wake.clear()
            try:
                self.flush()
            except BaseException:  # kept queued and on disk: the next flush (or a replay) retries
                time.sleep(1)

    def flush(self) -> None:
        with self.writing:
            while True:
                with self.lock:
                    taken, self.queue = self.queue, []
                if not taken:
                    break
                try:
                    self.client = _store(self.uri, taken, self.client)
                except BaseException:
                    with self.lock:
                        self.queue = taken + self.queue
                    raise
                with self.lock:
                    if not self.queue:  # everything written so far is in the store
                        os.ftruncate(self.fd, 0)

    def close(self) -> None:
        """At a clean exit, once everything is stored: no journal is left behind."""
        with self.lock:
            if not self.queue:
                os.close(self.fd)
                self.path.unlink(missing_ok=True)


def _store(uri: str, items: list[tuple[str, list]], c=None):
    """The points into the store, in batches; the client used (made when not given)."""
    import mlflow
    from mlflow.entities import Metric

    from .store import retry_locked

    c = c or mlflow.MlflowClient(uri)
    by_run: dict[str, list] = {}
    for run_id, points in items:
        by_run.setdefault(run_id, []).extend(Metric(k, v, ts, step) for k, v, ts, step in points)
    for run_id, metrics in by_run.items():
        for i in range(0, len(metrics), BATCH):
            retry_locked(c.log_batch)(run_id, metrics=metrics[i : i + BATCH])
    return c


def add(uri: str, db: Path, run_id: str, points: list) -> None:
    """Points ``[key, value, timestamp_ms, step]`` of one run, for the SQLite store at ``uri``."""
    with _guard:
        journal = _journals.get(uri)
        if journal is None:
            journal = _journals[uri] = _Journal(uri, db)
    journal.add(run_id, points)


def flush(uri: str | None = None) -> None:
    """Write every pending point (of the store at ``uri``, or of all) into the store, now."""
    for key, journal in list(_journals.items()):
        if uri is None or key == uri:
            journal.flush()


@atexit.register
def _at_exit() -> None:
    for journal in list(_journals.values()):
        try:
            journal.flush()
            journal.close()
        except Exception:  # still in the journal: the next process to open the store replays it
            pass


def recover(uri: str, db: Path) -> int:
    """Replay into the store the journals of processes that died before writing them; points replayed.

    A journal is claimed by renaming it (one replayer each); a replayer that dies leaves its claim to
    the next one."""
    from .. import schema
    from .context import owner_alive

    folder = db.parent / "pending"
    if not folder.is_dir():
        return 0
    host, count = socket.gethostname(), 0
    mine = {j.path for j in _journals.values()}
    for n, path in enumerate(sorted([*folder.glob("*.jsonl"), *folder.glob("*.replay")])):
        owner = path.stem.split("~")[0].rsplit("-", 2)  # HOST-PID-START[~N]
        if path in mine or len(owner) != 3 or owner[0] != host or not (owner[1] + owner[2]).isdigit():
            continue  # another host's journal is not ours to judge (as with runs)
        if owner_alive(schema.owner_tags(owner[0], int(owner[1]), int(owner[2]) / 1000)):
            continue
        claimed = folder / f"{_owner_name()}~{n}.replay"
        try:
            os.rename(path, claimed)
        except OSError:  # another process claimed it first
            continue
        items = []
        for line in claimed.read_text().splitlines():
            try:
                item = json.loads(line)
            except ValueError:  # a line cut short by the death
                continue
            items.append((item["run"], item["points"]))
        if items:
            _store(uri, items)
        count += sum(len(p) for _, p in items)
        claimed.unlink()
    return count
