"""Drift monitoring with Evidently: the plain-Python API behind ``%drift``."""

from ..errors import DriftDetected
from .api import check, history, start_ui, stop_ui, stop_watch, watch
from .results import DriftResult

__all__ = ["DriftDetected", "DriftResult", "check", "history", "start_ui", "stop_ui", "stop_watch", "watch"]
