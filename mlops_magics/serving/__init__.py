"""Serving: ``deploy`` a model to a target (a local MLServer endpoint, Seldon Core v2 or KServe
manifests), then ``predict``, ``list_deployments``, ``get``, ``logs``, ``stop`` local deployments."""

from .api import deploy
from .client import predict
from .deployments import get, list_deployments, logs, request_log, stop, stop_all
from .manifests import Manifests
from .models import resolve_model
from .results import Deployment

__all__ = [
    "Deployment", "Manifests", "deploy", "get", "list_deployments", "logs", "predict", "request_log",
    "resolve_model", "stop", "stop_all",
]  # fmt: skip
