"""MLflow tracking: the plain-Python API behind ``%track`` and ``%%track``."""

from .models import list_models, log_model, register
from .results import LoggedRun, RunResult
from .runs import (
    compare,
    end_run,
    get_run,
    last_run,
    log,
    log_fitted,
    resolve_run,
    search_runs,
    start_run,
    sweep_dead_runs,
    tracked,
)
from .store import client, tracking_uri
from .ui import start_ui, stop_ui

__all__ = [
    "LoggedRun",
    "RunResult",
    "client",
    "compare",
    "end_run",
    "get_run",
    "last_run",
    "list_models",
    "log",
    "log_fitted",
    "log_model",
    "register",
    "resolve_run",
    "search_runs",
    "start_run",
    "start_ui",
    "stop_ui",
    "sweep_dead_runs",
    "tracked",
    "tracking_uri",
]
