"""Local deployments as records: ``deployments/NAME/deployment.json``, read by any process.

A deployment's live status comes from its process and its model's ready endpoint: STARTING, READY,
STOPPED (asked to stop, or the process that owned it exited — the server dies with its owner unless
detached) or DEAD (it crashed; the reason is the first exception line of its log). A STOPPED or DEAD
name can be deployed again.
"""

from __future__ import annotations

import atexit
import json
import os
from pathlib import Path

from .. import procs, servers
from ..display import Outcome
from ..errors import UserInputError
from ..workspace import current
from .results import Deployment, DeploymentsTable, LogTail

LIVE = ("READY", "STARTING")


def server_name(name: str) -> str:
    return f"mlserver-{name}"


def record_path(name: str, config=None) -> Path:
    return current(config).deployment_dir(name) / "deployment.json"


def write(dep: Deployment, config=None) -> None:
    path = record_path(dep.name, config)
    tmp = path.with_suffix(f".json.{os.getpid()}")
    tmp.write_text(json.dumps(dep.to_record(), indent=2))
    os.replace(tmp, path)  # readers in other processes see the whole record or the previous one


def forget(name: str, config=None) -> None:
    record_path(name, config).unlink(missing_ok=True)


def record(name: str, config=None) -> Deployment:
    """The record as written, without asking the server (no network round trip)."""
    path = record_path(name, config)
    if not path.is_file():
        known = ", ".join(
            sorted(p.parent.name for p in current(config).deployments_dir.glob("*/deployment.json"))
        )
        raise UserInputError(f"no deployment {name!r}; deployments: {known or 'none'}")
    return Deployment(**json.loads(path.read_text()))


def with_status(dep: Deployment) -> Deployment:
    servers.running()  # reaps servers of this process that exited
    if procs.alive(dep.pid, dep.pid_started):
        ready = servers.http_ok(f"{dep.url}/v2/models/{dep.name}/ready", timeout=2)
        dep.status = "READY" if ready else "STARTING"
        return dep
    if dep.status == "STOPPED":
        return dep
    stopped = Path(dep.folder) / "stopped.json"
    if (stopped.is_file() and json.loads(stopped.read_text()).get("when", 0) >= dep.pid_started) or (
        not dep.detached and dep.owner_pid and not procs.alive(dep.owner_pid, dep.owner_started)
    ):
        dep.status, dep.reason = "STOPPED", "the process that owned it exited"
    else:
        cause = servers.first_error(Path(dep.log))
        dep.status, dep.reason = (
            "DEAD",
            f"the server exited unasked{f': {cause}' if cause else ''} (see %deploy logs {dep.name})",
        )
    return dep


def get(name: str, config=None) -> Deployment:
    """A deployment with its live status."""
    return with_status(record(name, config))


def list_deployments(config=None) -> DeploymentsTable:
    out = [with_status(Deployment(**json.loads(p.read_text())))
           for p in sorted(current(config).deployments_dir.glob("*/deployment.json"))]  # fmt: skip
    return DeploymentsTable(out)


def logs(name: str, lines: int = 40, config=None) -> LogTail:
    """The last ``lines`` lines of the deployment's server log."""
    if not 1 <= lines <= 100_000:
        raise UserInputError(f"--lines {lines}: give a number of lines from 1 to 100000")
    dep = record(name, config)
    return LogTail(name, dep.log, servers.log_tail(Path(dep.log), lines))


def stop(name: str, config=None, reason: str = "asked to stop") -> Deployment:
    """Stop a deployment's server: one this process started, or another process's on this host."""
    dep = get(name, config)
    stopped = servers.stop(server_name(name))
    if not stopped and dep.status in LIVE:
        procs.terminate_tree(dep.pid, grace=10)
    if stopped or dep.status in LIVE:  # a DEAD one keeps its reason
        dep.status, dep.reason = "STOPPED", reason
        write(dep, config)
    return dep


def stop_all(config=None) -> Outcome:
    """Stop every running deployment of the workspace."""
    names = [stop(d.name, config).name for d in list_deployments(config).deployments if d.status in LIVE]
    return Outcome("stopped", names, "deployments")


def stop_owned(_ip=None) -> list[str]:
    """Stop the deployments this process owns (not detached ones): at %unload_ext and at exit, so their
    records say STOPPED, not DEAD."""
    names = []
    for name in [n[len(server_name("")) :] for n in servers.running()]:
        try:
            dep = record(name)
        except UserInputError:  # another workspace's: servers.stop_all still stops the process
            continue
        if dep.owner_pid == os.getpid() and not dep.detached:
            names.append(stop(name, reason="its kernel shut down").name)
    return names


atexit.register(stop_owned)  # registered after servers' own hook, so it runs first


def request_log(name: str, config=None):
    """The requests and predictions the server logged, one row per request row, with a timestamp;
    missing values are missing (the log holds JSON null)."""
    import pandas as pd

    path = Path(record(name, config).request_log)
    frames = []
    if path.is_file():
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            rec = json.loads(line)
            frame = pd.concat([pd.DataFrame(rec["inputs"]), pd.DataFrame(rec["outputs"])], axis=1)
            frame.insert(0, "timestamp", pd.to_datetime(rec["ts"], unit="s", utc=True))
            frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
