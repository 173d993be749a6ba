"""Drift monitoring with Evidently: the plain-Python API behind ``%drift``."""

from .drift import DriftResult, drift
from .history import history

__all__ = ["DriftResult", "drift", "history"]
