"""The settings behind ``%config MLOps``: one traitlets Configurable.

Environment variables that a tool already honours win over these settings
(``MLOPS_HOME`` over ``home``, ``MLFLOW_TRACKING_URI`` over ``tracking_uri``). Every other setting takes
its default from ``MLOPS_<NAME>`` when set (``MLOPS_ONLINE_STORE``, ...): that is how the kernels of a
pipeline run get the settings of the process that started them (:func:`environment`).
"""

from __future__ import annotations

import contextlib
import os
import sys

from traitlets import Bool, Int, Unicode
from traitlets.config import Configurable


class MLOps(Configurable):
    """mlops_magics settings. Set one with ``%config MLOps.<name> = <value>``."""

    home = Unicode(
        "",
        help="Workspace folder for the embedded MLflow store, Feast repo, deployments, monitoring and "
        "pipeline runs. Empty: `.mlops/` beside the notebook (the kernel's working directory). "
        "The MLOPS_HOME environment variable wins over this.",
    ).tag(config=True)

    tracking_uri = Unicode(
        "",
        help="MLflow tracking URI. Empty: SQLite inside the workspace. "
        "The MLFLOW_TRACKING_URI environment variable wins over this.",
    ).tag(config=True)

    server = Unicode(
        "",
        help="The team's services: the URL `mlops-magics serve` printed (its MLflow server). Every part then "
        "works against them: runs, models, features, drift checks. The MLOPS_SERVER environment variable "
        "sets it too; MLOPS_TOKEN carries the team's token.",
    ).tag(config=True)

    online_store = Unicode(
        "",
        help="Feast online store. Empty: SQLite inside the workspace; `redis://HOST:PORT` for Redis.",
    ).tag(config=True)

    serving_host = Unicode(
        "127.0.0.1",
        help="Address local model servers bind to. Anything but 127.0.0.1 exposes them to the network.",
    ).tag(config=True)

    drift_sample_rows = Int(
        100_000,
        help="Above this many rows, %drift samples both frames (fixed seed) and says so.",
    ).tag(config=True)

    drift_max_columns = Int(
        100,
        help="Above this many shared columns, %drift compares a random choice of this many (fixed seed; "
        "--target and --prediction always) and says so: Evidently takes about 0.1 s a column. "
        "--columns chooses them yourself. 0: no limit.",
    ).tag(config=True)

    widgets = Bool(
        True,
        help="Show ipywidgets views in a live kernel. Static HTML/text is always included as a fallback.",
    ).tag(config=True)

    verbose = Bool(
        False,
        help="Show what Feast, MLflow and Evidently print and warn while a magic runs (hidden by default, "
        "and shown anyway when their call fails).",
    ).tag(config=True)

    short_errors = Bool(
        True,
        help="Show backend failures as one line naming the failing call. "
        "Set False to see full tracebacks when debugging.",
    ).tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        configured = set(self.config.get(type(self).__name__, {}))
        for name, trait in self.traits(config=True).items():
            raw = os.environ.get(env_name(name))
            if raw is not None and name not in configured and name not in kwargs and name != "home":
                setattr(self, name, trait.from_string(raw))

    def resolved_home(self) -> str:
        """The workspace folder in force: MLOPS_HOME, else ``home``, else (with ``server``) a per-user folder
        for that server, else ``./.mlops``."""
        env = os.environ.get("MLOPS_HOME", "").strip()
        if env:
            return os.path.abspath(os.path.expanduser(env))
        if self.home:
            return os.path.abspath(os.path.expanduser(self.home))
        if self.server:  # the state is the team's: what stays local (records, caches) goes beside the user
            return team_home(self.server)
        return os.path.abspath(".mlops")

    def resolved_tracking_uri(self) -> str:
        """MLFLOW_TRACKING_URI, else ``tracking_uri``, else the team's ``server``, else empty (embedded)."""
        return (
            os.environ.get("MLFLOW_TRACKING_URI", "").strip() or self.tracking_uri or self.server.rstrip("/")
        )


def team_home(server: str) -> str:
    """The local side of a team workspace (deployment records, downloaded data, logs): one folder per
    user and server under the user cache, so a notebook's own folder gets nothing but its outputs."""
    import re

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", server.split("://", 1)[-1].rstrip("/"))[:100]
    return os.path.join(base, "mlops-magics", "team", name)


def export_token() -> None:
    """MLflow's clients (tracking, artifacts) send ``MLFLOW_TRACKING_TOKEN``: the team's token
    (``MLOPS_TOKEN``) becomes it, unless one is set already."""
    if os.environ.get("MLOPS_TOKEN") and not os.environ.get("MLFLOW_TRACKING_TOKEN"):
        os.environ["MLFLOW_TRACKING_TOKEN"] = os.environ["MLOPS_TOKEN"]


def env_name(setting: str) -> str:
    """``online_store`` -> ``MLOPS_ONLINE_STORE``: a setting's default can come from the environment."""
    return f"MLOPS_{setting.upper()}"


def environment(config: MLOps | None = None) -> dict[str, str]:
    """The settings in force that differ from their defaults, as environment variables, for processes
    this one starts (pipeline kernels, servers): they start with the same settings."""
    config = config or get_config()
    out = {"MLOPS_HOME": config.resolved_home()}
    for name, trait in config.traits(config=True).items():
        value = getattr(config, name)
        if name != "home" and value != trait.default_value:
            out[env_name(name)] = str(value)
    return out


_standalone: MLOps | None = None


def get_config() -> MLOps:
    """The settings in force: the shell's ``MLOps`` in IPython, else one process-wide instance."""
    global _standalone
    ipython = sys.modules.get("IPython")  # never import IPython from plain-Python use
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None:
        for c in shell.configurables:
            if isinstance(c, MLOps):
                return c
    if _standalone is None:
        _standalone = MLOps()
    return _standalone


@contextlib.contextmanager
def environ(keep: tuple[str, ...] = (), **values: str):
    """Set ``values`` in ``os.environ`` for the block; on leaving it, those keys and the ``keep`` keys
    (ones a call inside may set, like ``mlflow.set_tracking_uri``) are as they were before."""
    saved = {key: os.environ.get(key) for key in (*keep, *values)}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
