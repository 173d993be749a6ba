"""``%feature ui``: Feast's own web UI on 127.0.0.1 over the workspace's Feast repo."""

from __future__ import annotations

import sys

from .. import servers

NAME = "feast-ui"


def ui_url() -> str | None:
    server = servers.get(NAME)
    return server.url if server else None


def view_url(name: str) -> str | None:
    """The page of one feature view in the Feast UI this process started (None when none runs)."""
    from urllib.parse import quote

    from .repo import PROJECT

    base = ui_url()
    return f"{base}/p/{PROJECT}/feature-view/{quote(name)}" if base else None


def start_ui(
    port: int | None = None, host: str = "127.0.0.1", timeout: float = 180, config=None
) -> servers.Server:
    """``feast ui`` over the workspace's Feast folder (a running one is reused)."""
    from ..workspace import current
    from .repo import store

    existing = servers.get(NAME)
    if existing:
        return existing
    servers.check_port(port)
    store(config)  # feature_store.yaml written, the code in step with the registry
    ws = current(config)
    port = port or servers.free_port(host)
    cmd = [sys.executable, "-m", "feast.cli.cli", "-c", str(ws.feast_dir), "ui", "-h", host, "-p", str(port)]
    return servers.start(
        NAME, cmd, host=host, port=port, log_path=ws.logs_dir / "feast-ui.log", cwd=ws.feast_dir,
        ready=lambda s: servers.http_ok(f"{s.url}/health"), timeout=timeout,
    )  # fmt: skip


def stop_ui() -> servers.Server | None:
    return servers.stop(NAME)
