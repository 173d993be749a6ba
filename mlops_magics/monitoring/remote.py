"""Saved drift checks against the team's Evidently UI (``MLOps.server``): snapshots go through its API,
and the check's history record travels inside the snapshot's metadata, so the history, lineage and
``push`` read it back with plain GETs (Evidently's ``RemoteWorkspace`` cannot list snapshots yet). The
UI's ``--secret`` guards writes; the team's token is sent as that secret."""

from __future__ import annotations

import json
import os

from .. import schema
from ..errors import BackendError

CHECK = schema.key("check")  # snapshot metadata: the history record of the check, as JSON
SECRET_HEADER = "evidently-secret"


def _headers() -> dict:
    token = os.environ.get("MLOPS_TOKEN")
    return {SECRET_HEADER: token} if token else {}


def _call(method: str, url: str, content: bytes | None = None):
    import httpx

    headers = {**_headers(), **({"Content-Type": "application/json"} if content is not None else {})}
    try:
        r = httpx.request(method, url, content=content, headers=headers, timeout=120, trust_env=False)
    except httpx.HTTPError as exc:
        raise BackendError(f"Evidently UI {method} {url}", exc) from exc
    if r.status_code >= 400:
        detail = "the UI wants the team's token (set MLOPS_TOKEN)" if r.status_code == 403 else r.text[:200]
        raise BackendError(f"Evidently UI {method} {url}", f"HTTP {r.status_code}: {detail}")
    return r.json() if r.content else None


def project_id(base: str, name: str, create: bool = False) -> str | None:
    found = [p for p in _call("GET", f"{base}/api/projects/search/{name}") or [] if p.get("name") == name]
    if found:
        return str(found[0]["id"])
    if not create:
        return None
    from evidently.ui.workspace import RemoteWorkspace

    ws = RemoteWorkspace(base, secret=os.environ.get("MLOPS_TOKEN") or None)
    return str(ws.create_project(name, description="mlops_magics drift checks").id)


def add(base: str, pid: str, snapshot, record: dict, marker: dict | None = None) -> str:
    """POST a snapshot with ``record`` in its metadata; returns the id the server gave it."""
    from evidently.legacy.utils import NumpyEncoder

    data = snapshot if isinstance(snapshot, dict) else snapshot.dump_dict()
    data.setdefault("metadata", {})[CHECK] = json.dumps(record, default=str)
    data["metadata"].update(marker or {})
    body = json.dumps(data, allow_nan=True, cls=NumpyEncoder)
    return str(_call("POST", f"{base}/api/v2/snapshots/{pid}", content=body.encode())["snapshot_id"])


def snapshots(base: str, pid: str) -> list[dict]:
    """The project's snapshots, oldest first: [{"id", "timestamp", "metadata", ...}]."""
    return _call("GET", f"{base}/api/projects/{pid}/snapshots") or []


def records(base: str, name: str) -> list[dict] | None:
    """The history records of the checks saved as ``name``; None when there is no such project."""
    pid = project_id(base, name)
    if pid is None:
        return None
    out = []
    for snap in snapshots(base, pid):
        raw = (snap.get("metadata") or {}).get(CHECK)
        if raw:
            out.append(json.loads(raw))
    return out


def projects(base: str) -> list[dict]:
    return _call("GET", f"{base}/api/projects") or []
