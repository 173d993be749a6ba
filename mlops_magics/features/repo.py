"""The Feast repo inside the workspace: ``feature_store.yaml``, the file registry, the online store.

Embedded default: file registry, file (parquet) offline store, SQLite online store, all under
``.mlops/feast``. ``MLOps.online_store = "redis://HOST:PORT"`` switches the online store to Redis.
Every registry write (apply, delete) holds a cross-process file lock: two kernels applying at once
must not lose each other's objects (Feast #2176).
"""

from __future__ import annotations

from urllib.parse import urlparse

from ..config import get_config
from ..errors import UserInputError
from ..workspace import Workspace, current

PROJECT = "mlops"
_stores: dict[tuple, object] = {}


def online_store_config(spec: str, ws: Workspace) -> dict:
    """``""`` -> SQLite in the workspace; ``redis://host:port[/db]`` -> Redis."""
    if not spec:
        return {"type": "sqlite", "path": str(ws.feast_dir / "online.db")}
    url = urlparse(spec)
    if url.scheme in ("redis", "rediss"):
        if not url.hostname:
            raise UserInputError(f"online store {spec!r}: type e.g. redis://127.0.0.1:6379")
        conn = f"{url.hostname}:{url.port or 6379}"
        db = url.path.strip("/")
        if db:
            conn += f",db={db}"
        if url.scheme == "rediss":
            conn += ",ssl=true"
        if url.password:
            conn += f",password={url.password}"
        return {"type": "redis", "connection_string": conn}
    raise UserInputError(f"online store {spec!r} is not supported; use empty (SQLite) or redis://HOST:PORT")


def _yaml(ws: Workspace, online: dict) -> str:
    import yaml

    return yaml.safe_dump(
        {
            "project": PROJECT,
            "provider": "local",
            "registry": {"path": str(ws.feast_dir / "registry.db"), "cache_ttl_seconds": 0},
            "online_store": online,
            "offline_store": {"type": "file"},
            "entity_key_serialization_version": 3,
        },
        sort_keys=False,
    )


def store(config=None):
    """The ``feast.FeatureStore`` of the workspace in force (``feature_store.yaml`` written if it changed)."""
    config = config or get_config()
    ws = current(config).ensure()
    online = online_store_config(config.online_store, ws)
    key = (str(ws.root), repr(sorted(online.items())))
    if key in _stores:
        return _stores[key]
    text = _yaml(ws, online)
    path = ws.feast_dir / "feature_store.yaml"
    with registry_lock(ws):
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
    from feast import FeatureStore

    fs = FeatureStore(repo_path=str(ws.feast_dir))
    _stores[key] = fs
    return fs


def registry_lock(ws: Workspace | None = None, timeout: float = 300):
    """The cross-process lock held around every registry write."""
    from filelock import FileLock

    ws = ws or current()
    ws.feast_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(str(ws.feast_dir / ".registry.lock"), timeout=timeout)
