"""ipywidgets views for tracking results (imported only in a live kernel)."""

from __future__ import annotations

import ipywidgets as w


class RunsView(w.VBox):
    """A runs table the user can sort: a column picker and an order toggle re-render the table."""

    def __init__(self, runs, **kwargs):
        self.runs = runs
        columns = runs.table().columns
        self._sort = w.Dropdown(options=columns, value="started", description="sort by")
        self._order = w.ToggleButtons(options=["descending", "ascending"], value="descending")
        self._table = w.HTML()
        self._sort.observe(self._on_change, names="value")
        self._order.observe(self._on_change, names="value")
        self._render()
        super().__init__(children=[w.HBox([self._sort, self._order]), self._table], **kwargs)
        self.add_class("mlops-widget")

    def _on_change(self, _change) -> None:
        self._render()

    def _render(self) -> None:
        table = self.runs.table(self._sort.value, descending=self._order.value == "descending")
        self._table.value = f"<div class='mlops-widget-runs'>{table.to_html()}</div>"
