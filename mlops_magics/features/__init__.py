"""Feast feature views from DataFrames or definitions: the plain-Python API behind ``%feature``."""

from .repo import store
from .retrieval import historical, online, parse_refs
from .views import apply_objects, delete, get_view, list_views, materialize, plan, register_frame, show

__all__ = [
    "apply_objects", "delete", "get_view", "historical", "list_views", "materialize", "online", "parse_refs",
    "plan", "register_frame", "show", "store",
]  # fmt: skip
