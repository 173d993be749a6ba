"""The Evidently dashboard of a drift project: the history the checks build, in the tool made to show it.

The first saved check of a project creates its panels (share of drifted columns over time, number of
drifted columns, drift score of the most drifted columns, rows checked); every later one keeps the
"most drifted columns" panel on the columns that drifted most often. Panels have ids derived from the
project, so they are recognised; a panel a user removed or added in the UI is left as it is.
"""

from __future__ import annotations

import uuid
from collections import Counter

TOP_COLUMNS = 5
_PANELS = ("latest-share", "latest-rows", "share", "drifted", "columns", "rows")


def panel_id(project_id, key: str) -> uuid.UUID:
    return uuid.uuid5(uuid.UUID(str(project_id)), f"mlops_magics.{key}")


def most_drifted(records: list[dict], top: int = TOP_COLUMNS) -> list[str]:
    """The columns that drifted in most checks (then the newest check's order), at most ``top``."""
    counts = Counter(c for r in records for c in r.get("drifted", []))
    latest = list((records[-1].get("scores") or {}) if records else {})
    ranked = sorted(
        {*counts, *latest}, key=lambda c: (-counts[c], latest.index(c) if c in latest else len(latest), c)
    )
    return ranked[:top]


def _columns_panel(columns: list[str]):
    from evidently.sdk.models import PanelMetric
    from evidently.sdk.panels import line_plot_panel

    values = [PanelMetric(legend=c, metric="ValueDrift", metric_labels={"column": c}) for c in columns]
    return line_plot_panel("Drift score of the most drifted columns", values,
                           description="per column: the test's p-value or distance (see each report)")  # fmt: skip


def panels(columns: list[str]) -> dict:
    """The drift panels, by key."""
    from evidently.sdk.models import PanelMetric
    from evidently.sdk.panels import bar_plot_panel, counter_panel, line_plot_panel

    share = PanelMetric(legend="share", metric="DriftedColumnsCount", metric_labels={"value_type": "share"})
    count = PanelMetric(
        legend="drifted columns", metric="DriftedColumnsCount", metric_labels={"value_type": "count"}
    )
    rows = PanelMetric(legend="rows", metric="RowCount")
    return {
        "latest-share": counter_panel("Share of drifted columns (latest check)", [share], size="half", aggregation="last"),
        "latest-rows": counter_panel("Rows checked (latest check)", [rows], size="half", aggregation="last"),
        "share": line_plot_panel("Dataset drift: share of drifted columns", [share], size="half"),
        "drifted": bar_plot_panel("Number of drifted columns", [count], size="half"),
        "columns": _columns_panel(columns),
        "rows": bar_plot_panel("Rows checked (current data)", [rows]),
    }  # fmt: skip


def update(ws, project_id, records: list[dict]) -> None:
    """Create the project's panels on its first check; then keep the columns panel on the most drifted
    columns. ``records``: the project's saved checks, oldest first (the history)."""
    from evidently.sdk.models import DashboardModel, DashboardTabModel

    columns = most_drifted(records)
    current = ws.get_dashboard(project_id)
    if not current.panels:
        made = panels(columns)
        for key, panel in made.items():
            panel.id = panel_id(project_id, key)
        tab = DashboardTabModel(
            id=panel_id(project_id, "tab"), title="Drift", panels=[p.id for p in made.values()]
        )
        ws.save_dashboard(project_id, DashboardModel(tabs=[tab], panels=list(made.values())))
        return
    wanted = panel_id(project_id, "columns")
    for i, panel in enumerate(current.panels):
        if panel.id == wanted:
            fresh = _columns_panel(columns)
            if [v.metric_labels for v in panel.values] != [v.metric_labels for v in fresh.values]:
                fresh.id = wanted
                current.panels[i] = fresh
                ws.save_dashboard(project_id, current)
            return
