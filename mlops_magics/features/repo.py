"""The Feast repo inside the workspace: ``feature_store.yaml``, the file registry, the online store.

Embedded default: file registry, file (parquet) offline store, SQLite online store, all under
``.mlops/feast``. ``MLOps.online_store = "redis://HOST:PORT"`` switches the online store to Redis.
Every registry write (apply, delete) holds a cross-process file lock: two kernels applying at once
must not lose each other's objects (Feast #2176). Under the same lock, after each write, the registry is
written out as Feast code (``features/code.py``), so the folder is a Feast repo that ``feast plan`` agrees
with.
"""

from __future__ import annotations

from urllib.parse import urlparse

from ..config import get_config
from ..errors import UserInputError
from ..workspace import Workspace, current
from . import code

PROJECT = "mlops"
_stores: dict[tuple, object] = {}
_checked_refs: dict[tuple, list[str]] = {}  # (workspace, refs) -> feature refs checked against its registry


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


def _repo_config(ws: Workspace, online: dict) -> dict:
    return {
        "project": PROJECT,
        "provider": "local",
        "registry": {"path": str(ws.feast_dir / "registry.db"), "cache_ttl_seconds": 0},
        "online_store": online,
        "offline_store": {"type": "file"},
        "entity_key_serialization_version": 3,
    }


def store(config=None):
    """The ``feast.FeatureStore`` of the workspace in force (``feature_store.yaml`` written if it changed);
    with ``MLOps.server``, the team's Feast servers (features/remote.py)."""
    import os

    import yaml

    config = config or get_config()
    ws = current(config).ensure()
    if config.server:
        from . import remote

        doc = remote.repo_config(remote.services(config))
        token = os.environ.get("MLOPS_TOKEN") or None
    else:
        doc, token = _repo_config(ws, online_store_config(config.online_store, ws)), None
    key = (str(ws.root), repr(doc), token)
    if key in _stores:
        return _stores[key]
    text = yaml.safe_dump(doc, sort_keys=False)
    path = ws.feast_dir / "feature_store.yaml"
    with registry_lock(ws):
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
        if config.server:  # the team's registry: its code lives with the team's server
            from .remote import open_store

            fs = open_store(ws.feast_dir, doc, token)
        else:
            from feast import FeatureStore

            fs = FeatureStore(repo_path=str(ws.feast_dir))
            if (ws.feast_dir / "registry.db").is_file() and not (ws.feast_dir / code.FILE).is_file():
                code.write(fs, ws.feast_dir)  # a workspace made before the code was written
    _stores[key] = fs
    return fs


def write_code(fs, config=None) -> list[str]:
    """The registry as Feast code in the Feast folder; call it holding :func:`registry_lock`."""
    return code.write(fs, current(config or get_config()).feast_dir)


def registry_lock(ws: Workspace | None = None, timeout: float = 300):
    """The cross-process lock held around every registry write."""
    from filelock import FileLock

    ws = ws or current()
    ws.feast_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(str(ws.feast_dir / ".registry.lock"), timeout=timeout)


def checked_refs(refs: list[str], check, config=None) -> list[str]:
    """``check(refs)`` once per workspace and list of refs (the online path must stay close to raw Feast)."""
    key = (current(config or get_config()).root, tuple(refs))
    if key not in _checked_refs:
        _checked_refs[key] = check(refs)
    return _checked_refs[key]


def forget_checked_refs(config=None) -> None:
    """After an apply or delete, refs must be checked against the registry again."""
    root = current(config or get_config()).root
    for key in [k for k in _checked_refs if k[0] == root]:
        del _checked_refs[key]


def version_data(view: str, fingerprint: str, config=None, fetch: bool = False):
    """The parquet file that holds the data of one version of a view (kept, so a run's training data can
    be read back exactly: monitoring uses it for ``run:ID`` drift references). ``fetch``: against the
    team's services, download it into the local cache first if it is not there."""
    config = config or get_config()
    path = current(config).feast_data_dir / view / f"{fingerprint}.parquet"
    if fetch and config.server and not path.is_file():
        from . import remote

        remote.download(remote.services(config), view, path)
    return path
