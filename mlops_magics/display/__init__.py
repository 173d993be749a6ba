"""Result objects render themselves: text/plain and text/html always, an ipywidgets view in a live kernel."""

from .card import Card, Result, Table, live_kernel

__all__ = ["Card", "Result", "Table", "live_kernel"]
