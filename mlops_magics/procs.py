"""Processes: is a recorded process still the one we started (pid reuse), and stopping a process with
everything it started. One place for both, with psutil."""

from __future__ import annotations

import os
import signal


def start_time(pid: int) -> float:
    import psutil

    return psutil.Process(pid).create_time()


def alive(pid: int | None, started: float | None = None) -> bool:
    """True when ``pid`` runs and, given its recorded start time, is still that process (not a reused pid)."""
    import psutil

    if not pid:
        return False
    try:
        proc = psutil.Process(int(pid))
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return started is None or abs(proc.create_time() - float(started)) < 1.0
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return False


def terminate_tree(pids, grace: float = 10, group: bool = False) -> list[int]:
    """SIGTERM ``pids`` and all their descendants, SIGKILL what is left after ``grace`` seconds.

    ``group``: the processes lead their own session (``start_new_session``), so their process groups get
    the signal too (workers that were already reparented are reached that way). Returns the pids stopped.
    """
    import psutil

    family = []
    for pid in [pids] if isinstance(pids, int) else pids:
        try:
            parent = psutil.Process(pid)
            family += [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        if group:
            try:
                os.killpg(pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
    for p in family:
        try:
            p.terminate()
        except psutil.NoSuchProcess:
            pass
    _, left = psutil.wait_procs(family, timeout=grace)
    for p in left:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(left, timeout=grace)
    return [p.pid for p in family]


def children_running(marker: str, since: float) -> list[int]:
    """Pids of this process's descendants started after ``since`` whose command line holds ``marker``."""
    import psutil

    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if proc.create_time() >= since - 1 and marker in " ".join(proc.cmdline()):
                found.append(proc.pid)
        except psutil.Error:
            continue
    return found


def listens(pid: int, ports) -> bool:
    """Whether process ``pid`` (or one of its children) has a listening TCP socket on each of ``ports``.
    A port that another process holds does not count: readiness means the server bound them all."""
    import psutil

    try:
        parent = psutil.Process(pid)
        tree = [parent, *parent.children(recursive=True)]
    except psutil.Error:
        return False
    held = set()
    for p in tree:
        try:
            held |= {c.laddr.port for c in p.net_connections("tcp") if c.status == psutil.CONN_LISTEN}
        except psutil.Error:
            continue
    return set(ports) <= held
