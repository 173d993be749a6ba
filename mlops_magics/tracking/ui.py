"""``%track ui``: the MLflow tracking server (and its UI) on 127.0.0.1 over the store in force.

Over the embedded store it also serves the workspace's artifacts (``--artifacts-destination``): the
store's ``mlflow-artifacts:`` locations are what MLflow's artifact proxy resolves, so a client that only
has ``MLFLOW_TRACKING_URI=http://HOST:PORT`` downloads models and files through the server, and runs
created through the server keep their artifacts in the same folder.
"""

from __future__ import annotations

import sys

from .. import servers

NAME = "mlflow-ui"


def ui_url() -> str | None:
    server = servers.get(NAME)
    return server.url if server else None


def start_ui(
    port: int | None = None, host: str = "127.0.0.1", timeout: float = 120, config=None
) -> servers.Server:
    from ..workspace import current
    from .store import tracking_uri

    existing = servers.get(NAME)
    if existing:
        return existing
    uri = tracking_uri(config)
    ws = current(config)
    port = port or servers.free_port(host)
    cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", uri, "--host", host, "--port", str(port),
           "--workers", "1"]  # fmt: skip
    if uri.startswith("sqlite:"):
        cmd += ["--serve-artifacts", "--artifacts-destination", str(ws.artifacts_dir)]
    return servers.start(
        NAME, cmd, host=host, port=port, log_path=ws.logs_dir / "mlflow-ui.log",
        ready=lambda s: servers.http_ok(f"{s.url}/health"), timeout=timeout,
        env={"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},  # MLflow's GenAI job runners: 7 processes
    )  # fmt: skip


def stop_ui() -> bool:
    return servers.stop(NAME)
