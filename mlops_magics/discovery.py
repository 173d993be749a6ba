"""From one URL to every service: ``mlops-magics serve`` publishes a service map (ports, the Feast
project, where feature data goes) as a tag on the MLflow server's experiment 0, written last, once every
server answers. A notebook with only ``MLOPS_SERVER`` reads it with one GET (no MLflow import) and joins
the ports to the server's host, so the map holds behind another name. ``MLOPS_TOKEN`` carries the team's
token; it is never written anywhere."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from . import schema
from .config import export_token
from .errors import BackendError, UserInputError

SERVICES_TAG = schema.key("services")
_cache: dict[str, Services] = {}


@dataclass(frozen=True)
class Services:
    server: str  # the MLflow server's URL
    feast_project: str
    registry: str  # host:port of Feast's registry server (gRPC)
    offline_host: str
    offline_port: int
    online: str  # Feast's feature server (HTTP)
    evidently: str  # the Evidently UI (HTTP)
    data_artifacts: str  # where %%feature uploads a view's data (mlflow-artifacts:/...)
    data_prefix: str  # the same folder as the server's Feast repo reads it
    auth: dict = field(default_factory=dict)

    def card_lines(self) -> list[tuple[str, str]]:
        return [("MLflow", self.server), ("Feast registry", f"grpc://{self.registry}"),
                ("Feast offline", f"grpc://{self.offline_host}:{self.offline_port}"), ("Feast online", self.online),
                ("Evidently", self.evidently)]  # fmt: skip


def token() -> str | None:
    return os.environ.get("MLOPS_TOKEN") or None


def headers() -> dict[str, str]:
    t = token()
    return {"Authorization": f"Bearer {t}"} if t else {}


def read(server: str) -> dict:
    """The raw service map the server published (one GET)."""
    import httpx

    url = f"{server.rstrip('/')}/api/2.0/mlflow/experiments/get"
    try:
        r = httpx.get(url, params={"experiment_id": "0"}, headers=headers(), timeout=15, trust_env=False)
    except httpx.HTTPError as exc:
        raise BackendError(f"GET {url}", exc) from exc
    if r.status_code in (401, 403):  # a setting to fix, not a failure of the server
        raise UserInputError(
            f"the team's server {server} refused {'this' if token() else 'no'} token (HTTP {r.status_code}): "
            "set MLOPS_TOKEN to the token `mlops-magics serve` was started with"
        )
    if r.status_code != 200:
        raise BackendError(f"GET {url}", f"HTTP {r.status_code}: {r.text[:200]}")
    tags = {t["key"]: t["value"] for t in r.json()["experiment"].get("tags", [])}
    if SERVICES_TAG not in tags:
        raise BackendError(f"GET {url}", f"{server} is an MLflow server but not one `mlops-magics serve` started "
                           "(no service map); point MLFLOW_TRACKING_URI at it to use MLflow only")  # fmt: skip
    return json.loads(tags[SERVICES_TAG])


def services(server: str) -> Services:
    """The team's services behind ``server`` (cached for the process)."""
    export_token()
    server = server.rstrip("/")
    if server not in _cache:
        raw = read(server)
        host = urlsplit(server).hostname or "127.0.0.1"

        def where(name: str) -> tuple[str, int]:
            part = raw[name]
            return part.get("host") or host, int(part["port"])

        reg, off, on, ev = (
            where("feast_registry"),
            where("feast_offline"),
            where("feast_online"),
            where("evidently"),
        )
        _cache[server] = Services(
            server=server, feast_project=raw["feast_project"], registry=f"{reg[0]}:{reg[1]}", offline_host=off[0],
            offline_port=off[1], online=f"http://{on[0]}:{on[1]}", evidently=f"http://{ev[0]}:{ev[1]}",
            data_artifacts=raw["feast_data"]["artifacts"], data_prefix=raw["feast_data"]["source_prefix"],
            auth=raw.get("auth", {}),
        )  # fmt: skip
    return _cache[server]
