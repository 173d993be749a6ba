"""Drift over time: each saved check goes to an Evidently project in the workspace, whose dashboard
shows the history (``evidently ui --workspace .mlops/monitoring/evidently``, or ``%drift ui``), and to a
JSON-lines history per name (read without importing Evidently)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

from .. import servers
from ..display import Card, Result, Table
from ..errors import UserInputError
from ..workspace import check_name, current

UI = "evidently-ui"


def evidently_dir(config=None):
    """The folder ``evidently ui --workspace`` reads: the Evidently workspace of the projects."""
    return current(config).monitoring_dir / "evidently"


def _history_dir(config=None):
    return current(config).monitoring_dir / "history"


def _history_path(name: str, config=None):
    return _history_dir(config) / f"{check_name(name, '--save', 'credit-risk')}.jsonl"


def _team(config=None):
    """The team's Evidently UI (its URL) when ``MLOps.server`` is set, else None."""
    from ..config import get_config

    config = config or get_config()
    if not config.server:
        return None
    from ..discovery import services

    return services(config.server).evidently


def save(result, name: str, config=None, report: bool = True) -> str:
    """Add the snapshot to the Evidently project ``name`` (its dashboard panels made by the first check)
    and append the check to its history. ``report``: also write the full HTML report (a watch, which
    saves a check every interval, leaves it to the snapshot). The result learns where it was saved.
    Against the team's services: the UI's API, the record inside the snapshot's metadata."""
    path = _history_path(name, config)
    team = _team(config)
    if team:
        from . import remote

        record = {"when": result.when, "dataset_drift": result.dataset_drift, "drift_share": result.drift_share,
                  "scores": result.scores, "drifted": result.drifted, "report": result.report_path if report else None,
                  "metadata": result.metadata}  # fmt: skip
        pid = remote.project_id(team, name, create=True)
        result.project_id, result.snapshot_id = str(pid), remote.add(team, pid, result.snapshot, record)
        return str(pid)
    from filelock import FileLock

    ws_dir = evidently_dir(config)
    current(config).ensure()
    ws_dir.mkdir(parents=True, exist_ok=True)
    # one project per name and one dashboard write at a time, across kernels and watch threads
    with FileLock(str(ws_dir.parent / ".evidently.lock"), timeout=300):
        from evidently.ui.workspace import Workspace

        from . import dashboard

        ws = Workspace.create(str(ws_dir))
        found = ws.search_project(name)
        project = found[0] if found else ws.create_project(name, description="mlops_magics drift checks")
        ref = ws.add_run(project.id, result.snapshot)
        result.project_id, result.snapshot_id = str(project.id), str(ref.id)
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {"when": result.when, "dataset_drift": result.dataset_drift, "drift_share": result.drift_share,
                  "scores": result.scores, "drifted": result.drifted, "report": result.report_path if report else None,
                  "metadata": result.metadata, "project": result.project_id, "snapshot": result.snapshot_id}  # fmt: skip
        with open(path, "a") as f:
            f.write(json.dumps(record, default=str) + "\n")
        dashboard.update(ws, project.id, _records(path))
    return str(project.id)


def _records(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def ui_url() -> str | None:
    server = servers.get(UI)
    return server.url if server else None


def snapshot_url(project_id: str | None, snapshot_id: str | None) -> str | None:
    """The page of one saved check in the Evidently UI this process started (None when none runs)."""
    base = ui_url()
    return (
        f"{base}/projects/{project_id}/reports/{snapshot_id}" if base and project_id and snapshot_id else None
    )


def project_url(project_id: str | None) -> str | None:
    """The project's dashboard in the Evidently UI this process started."""
    base = ui_url()
    return f"{base}/projects/{project_id}" if base and project_id else None


@dataclass
class DriftHistory(Result):
    name: str
    records: list[dict]

    def card(self) -> Card:
        def drifted(r):
            names = r.get("drifted", [])
            return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "") or "none"

        rows = [[r["when"], "DRIFT" if r["dataset_drift"] else "no", f"{r['drift_share']:.0%}",
                 f"{len(r.get('drifted', []))} of {len(r['scores'])}", drifted(r)] for r in reversed(self.records)]  # fmt: skip
        table = Table(["when", "dataset drift", "share", "columns drifted", "which"], rows)
        project = next((r["project"] for r in reversed(self.records) if r.get("project")), None)
        url = project_url(project)
        return Card(f"Drift history {self.name} ({len(rows)} checks, newest first)", tables=[table],
                    links=[("Evidently dashboard", url)] if url else [], kind="drift-history")  # fmt: skip

    def trend_svg(self, width: int = 300, height: int = 40) -> str:
        from .charts import trend_svg

        return trend_svg([r["drift_share"] for r in self.records][-100:], width, height)

    def _repr_mimebundle_(self, include=None, exclude=None):
        card = self.card()
        trend = self.trend_svg()
        note = (
            "<div style='font-size:11px;color:#57606a'>share of drifted columns over time</div>"
            if trend
            else ""
        )
        return {"text/plain": card.to_text(), "text/html": card.to_html() + note + trend}


def history(name: str, config=None) -> DriftHistory:
    path = _history_path(name, config)
    team = _team(config)
    if team:
        from . import remote

        found = remote.records(team, name)
        if not found:
            raise UserInputError(
                f"no saved drift checks named {name!r} on {team}; save one with %drift ... --save {name}"
            )
        return DriftHistory(name, found)
    if not path.is_file():
        raise UserInputError(f"no saved drift checks named {name!r}; save one with %drift ... --save {name}")
    return DriftHistory(name, _records(path))


def checks_for(run_id: str, deployments: list[str], config=None) -> list[tuple[str, dict]]:
    """Saved checks that involve a run (as reference or served model) or one of its deployments:
    [(history name, record)]."""
    out = []
    for name, rec in _all_records(config):
        meta = rec.get("metadata", {})
        if meta.get("deployment") in deployments or run_id in (meta.get("run_id"), meta.get("reference_run")):
            out.append((name, rec))
    return out


def _all_records(config=None):
    """(history name, record) of every saved check, here or on the team's UI."""
    team = _team(config)
    if team:
        from . import remote

        for project in remote.projects(team):
            for rec in remote.records(team, project["name"]) or []:
                yield project["name"], rec
        return
    for path in sorted(_history_dir(config).glob("*.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                yield path.stem, json.loads(line)


def count(config=None) -> int | str:
    """Snapshots in the Evidently workspace (files on disk; no Evidently import); the team's: on its UI."""
    if _team(config):
        return "on the team's Evidently UI (%drift history NAME)"
    return len(list(evidently_dir(config).glob("*/snapshots/*.json")))


def start_ui(port: int | None = None, host: str = "127.0.0.1", config=None) -> servers.Server:
    """The Evidently UI service over the workspace's Evidently projects."""
    existing = servers.get(UI)
    if existing:
        return existing
    servers.check_port(port)
    ws = current(config).ensure()
    port = port or servers.free_port(host)
    cmd = [sys.executable, "-c", "from evidently.cli import app; app()", "ui", "--workspace", str(evidently_dir(config)),
           "--host", host, "--port", str(port)]  # fmt: skip
    return servers.start(UI, cmd, host=host, port=port, log_path=ws.logs_dir / "evidently-ui.log",
                         ready=lambda s: servers.http_ok(f"{s.url}/api/version"), timeout=120)  # fmt: skip


def stop_ui() -> servers.Server | None:
    return servers.stop(UI)
