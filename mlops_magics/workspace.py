"""The one place that knows the on-disk layout of the embedded workspace.

::

    .mlops/
      workspace.json          layout version, creation time
      .lock                   cross-process lock (filelock) for creation and registry writes
      mlflow/mlflow.db        MLflow tracking + registry store (SQLite)
      mlflow/artifacts/       MLflow artifact root
      feast/                  Feast repo: feature_store.yaml, registry.db, online.db, data/ (parquet)
      deployments/NAME/       one folder per local deployment: record, settings, logs, request log
      monitoring/             Evidently workspace (projects and snapshots)
      pipelines/NAME-TIME-ID/ executed notebooks of pipeline runs
      envs/                   cached serving environments (MLServer venvs)
      logs/                   logs of the UI servers started for this workspace

Creating it is idempotent and safe under several processes at once.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import UserInputError, shown

LAYOUT_VERSION = 1
_SUBDIRS = ("mlflow/artifacts", "feast/data", "deployments", "monitoring", "pipelines", "envs", "logs")


@dataclass(frozen=True)
class Workspace:
    root: Path

    # -- where things live ---------------------------------------------------------------------------
    @property
    def marker(self) -> Path:
        return self.root / "workspace.json"

    @property
    def lock_path(self) -> Path:
        return self.root / ".lock"

    @property
    def mlflow_dir(self) -> Path:
        return self.root / "mlflow"

    @property
    def mlflow_db(self) -> Path:
        return self.mlflow_dir / "mlflow.db"

    @property
    def artifacts_dir(self) -> Path:
        return self.mlflow_dir / "artifacts"

    @property
    def tracking_uri(self) -> str:
        """The embedded MLflow store: SQLite in the workspace."""
        return f"sqlite:///{self.mlflow_db}"

    @property
    def feast_dir(self) -> Path:
        return self.root / "feast"

    @property
    def feast_data_dir(self) -> Path:
        return self.feast_dir / "data"

    @property
    def deployments_dir(self) -> Path:
        return self.root / "deployments"

    def deployment_dir(self, name: str) -> Path:
        return self.deployments_dir / check_name(name, "deployment name")

    @property
    def monitoring_dir(self) -> Path:
        return self.root / "monitoring"

    @property
    def pipelines_dir(self) -> Path:
        return self.root / "pipelines"

    def pipeline_run_dir(self, pipeline: str, engine: str = "") -> Path:
        """A new folder for one run of ``pipeline``, whose name may be any text a pipeline file gives."""
        import uuid

        safe = (
            re.sub(r"[^A-Za-z0-9_.-]+", "_", str(pipeline)).replace("..", "_").strip("._-")[:60] or "pipeline"
        )
        stamp = f"{'-' + engine if engine else ''}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        return self.pipelines_dir / check_name(safe + stamp, "pipeline run")

    @property
    def envs_dir(self) -> Path:
        return self.root / "envs"

    @property
    def logs_dir(self) -> Path:
        """Logs of servers started for the workspace (MLflow UI, Evidently UI)."""
        return self.root / "logs"

    # -- life cycle ----------------------------------------------------------------------------------
    @property
    def exists(self) -> bool:
        return self.marker.is_file()

    def lock(self, timeout: float = 60):
        """A cross-process lock over this workspace (a ``filelock.FileLock``)."""
        from filelock import FileLock

        self.root.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.lock_path), timeout=timeout)

    def ensure(self) -> Workspace:
        """Create the layout if missing. Idempotent; safe when several processes race."""
        if self.exists and all((self.root / d).is_dir() for d in _SUBDIRS):
            return self
        with self.lock():
            for d in _SUBDIRS:
                (self.root / d).mkdir(parents=True, exist_ok=True)
            if not self.exists:
                meta = {"layout_version": LAYOUT_VERSION, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
                tmp = self.marker.with_name(f".workspace.json.{os.getpid()}")
                tmp.write_text(json.dumps(meta, indent=2) + "\n")
                os.replace(tmp, self.marker)  # atomic: readers see all of it or none
        return self

    def read_meta(self) -> dict:
        return json.loads(self.marker.read_text()) if self.exists else {}


_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def check_name(name, what: str, example: str = "credit-risk") -> str:
    """The one check of a name that becomes a file or folder in the workspace (drift histories and
    reports, deployments, feature views, pipeline runs): letters, digits, '_', '.', '-', at most 100
    characters, starting with a letter or digit and holding no '..', so it can never point outside the
    workspace nor exceed a file system's name length."""
    if not isinstance(name, str) or not _SAFE_NAME.fullmatch(name) or ".." in name:
        raise UserInputError(
            f"{what} {shown(name)}: use up to 100 letters, digits, '_', '.' or '-' (no '/' or '..'), "
            f"e.g. {example}"
        )
    return name


def check_folder(path, what: str = "workspace folder") -> Path:
    """A folder the user names (``%mlops init PATH``): absolute, each part a length the file system
    takes, and not a file nor under one. The folder itself may be anywhere: the user chose it."""
    text = os.fspath(path)
    if not text.strip() or "\x00" in text:
        raise UserInputError(f"{what} {shown(text)}: give a folder, e.g. ./.mlops")
    folder = Path(text).expanduser()
    if any(len(os.fsencode(part)) > 255 for part in folder.parts) or len(os.fsencode(text)) > 4000:
        raise UserInputError(f"{what} {shown(text)}: a folder name is at most 255 bytes long")
    folder = folder.resolve()
    for existing in (folder, *folder.parents):
        if existing.exists():
            if not existing.is_dir():
                where = "is" if existing == folder else f"is under {existing}, which is"
                raise UserInputError(f"{what} {shown(text)} {where} a file; give a folder")
            break
    return folder


def current(config=None) -> Workspace:
    """The workspace in force (not created): MLOPS_HOME, ``%config MLOps.home``, or ``./.mlops``."""
    if config is None:
        from .config import get_config

        config = get_config()
    return Workspace(Path(config.resolved_home()))


def ensure(config=None) -> Workspace:
    """The workspace in force, created if missing."""
    return current(config).ensure()


def init(path: str | os.PathLike | None = None, config=None) -> Workspace:
    """Create a workspace at ``path`` (or the one in force) and return it."""
    ws = Workspace(check_folder(path)) if path else current(config)
    try:
        return ws.ensure()
    except OSError as exc:  # a folder the user may not write, a read-only file system, ...
        raise UserInputError(f"cannot create the workspace at {ws.root}: {exc.strerror or exc}") from None
