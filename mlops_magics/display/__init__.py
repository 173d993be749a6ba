"""Result objects render themselves: text/plain and text/html always, an ipywidgets view in a live kernel."""

from .card import Card, Outcome, Result, Stored, Table, live_kernel

__all__ = ["Card", "Outcome", "Result", "Stored", "Table", "live_kernel"]
