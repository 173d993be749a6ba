"""Feast feature views from DataFrames or definitions: the plain-Python API behind ``%feature``."""

from .frames import clean_names, model_frame
from .repo import store
from .retrieval import entities, historical, lineage_of, online, parse_refs
from .ui import start_ui, stop_ui
from .views import apply_objects, delete, get_view, list_views, materialize, plan, register_frame, show

__all__ = [
    "apply_objects", "clean_names", "delete", "entities", "get_view", "historical", "lineage_of", "list_views",
    "materialize", "model_frame", "online", "parse_refs", "plan", "register_frame", "show", "start_ui", "stop_ui",
    "store",
]  # fmt: skip
