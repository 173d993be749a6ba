"""Serving: Seldon Core v2 / KServe manifests for a cluster (local MLServer endpoints: issue #5)."""

from .manifests import Manifests, kserve, seldon
from .models import resolve_model

__all__ = ["Manifests", "kserve", "resolve_model", "seldon"]
