"""Evidently's own UI shows the drift history: the first ``--save NAME`` makes the project's dashboard
panels, ``%drift watch`` lands its checks on the same project, and the real ``evidently ui`` (started by
``%drift ui``) serves them over its HTTP API and renders the dashboard in Chromium."""

from __future__ import annotations

import httpx

from mlops_magics.monitoring import dashboard

from chromium import screenshot

TITLES = {"Share of drifted columns (latest check)", "Rows checked (latest check)",
          "Dataset drift: share of drifted columns", "Number of drifted columns",
          "Drift score of the most drifted columns", "Rows checked (current data)"}  # fmt: skip


def test_most_drifted_ranks_by_how_often_then_the_latest_check():
    records = [{"drifted": ["b"], "scores": {"a": 0.5, "b": 0.01, "c": 0.3}},
               {"drifted": ["b", "c"], "scores": {"c": 0.01, "b": 0.02, "a": 0.4}}]  # fmt: skip
    assert dashboard.most_drifted(records) == ["b", "c", "a"]
    assert dashboard.most_drifted(records, top=1) == ["b"]
    assert dashboard.most_drifted([]) == []


def _workspace():
    from evidently.ui.workspace import Workspace

    from mlops_magics.monitoring.snapshots import evidently_dir

    return Workspace.create(str(evidently_dir()))


def test_the_first_save_makes_the_panels_and_later_ones_keep_a_users_panels(ip):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"a": rng.normal(0, 1, 300), "b": rng.normal(5, 2, 300), "c": rng.normal(0, 1, 300)})
    ip.user_ns.update(ref=ref, cur=ref.assign(c=ref.c + 3), cur2=ref.assign(a=ref.a + 3, c=ref.c + 3))
    first = ip.run_line_magic("drift", "ref cur --save demo")
    ws = _workspace()
    board = ws.get_dashboard(first.project_id)
    assert {p.title for p in board.panels} == TITLES and len(board.tabs) == 1
    assert board.tabs[0].panels == [p.id for p in board.panels]  # each panel once
    columns = next(p for p in board.panels if p.id == dashboard.panel_id(first.project_id, "columns"))
    assert columns.values[0].metric_labels["column"] == "c"  # the drifted column first
    from evidently.sdk.models import PanelMetric
    from evidently.sdk.panels import text_panel

    mine = text_panel("my notes")
    board.panels.append(mine)
    board.tabs[0].panels.append(mine.id)
    ws.save_dashboard(first.project_id, board)
    second = ip.run_line_magic("drift", "ref cur2 --save demo")
    assert second.project_id == first.project_id
    board = _workspace().get_dashboard(first.project_id)
    assert len(board.panels) == 7 and "my notes" in {p.title for p in board.panels}
    columns = next(p for p in board.panels if p.id == dashboard.panel_id(first.project_id, "columns"))
    assert [v.metric_labels["column"] for v in columns.values][:2] == ["c", "a"]
    assert isinstance(columns.values[0], PanelMetric)
    assert [r["snapshot"] for r in ip.run_line_magic("drift", "history demo").records] == [
        first.snapshot_id,
        second.snapshot_id,
    ]


def test_evidently_ui_shows_the_history_of_saves_and_of_a_watch(registered):
    from mlops_magics import monitoring
    from mlops_magics.serving import local

    ip = registered
    X = ip.user_ns["X"]
    ip.user_ns.update(shifted=X.assign(a=X.a + 5, b=X.b - 5))
    ip.run_line_magic("deploy", "models:/credit-risk@champion --name credit-risk")
    try:
        calm = ip.run_line_magic("drift", "X X --save credit-risk")
        loud = ip.run_line_magic("drift", "X shifted --save credit-risk")
        local.predict("credit-risk", X.iloc[:40])
        w = ip.run_line_magic("drift", "watch deployment:credit-risk --every 1s --reference X --min-rows 30")
        assert w.save == "credit-risk" and w.wait_for(1, timeout=120)
        local.predict("credit-risk", ip.user_ns["shifted"].iloc[:60])
        assert w.wait_for(2, timeout=120), w.error
        ip.run_line_magic("drift", "watch --stop")
        watched = len(w.checks)
    finally:
        monitoring.stop_watch()
        local.stop_all()

    server = ip.run_line_magic("drift", "ui")
    try:
        projects = httpx.get(f"{server.url}/api/projects", timeout=30).json()
        assert [p["name"] for p in projects] == ["credit-risk"]
        pid = projects[0]["id"]
        assert pid == calm.project_id == loud.project_id
        board = httpx.get(f"{server.url}/api/v2/dashboards/{pid}", timeout=30).json()
        assert {p["title"] for p in board["panels"]} == TITLES
        snapshots = httpx.get(f"{server.url}/api/projects/{pid}/snapshots", timeout=30).json()
        assert len(snapshots) == 2 + watched
        assert sum(s["metadata"].get("deployment") == "credit-risk" for s in snapshots) == watched
        # the panels' data points: one per saved check, rows and drift share as the checks found them
        values = [v for p in board["panels"] for v in p["values"]]
        body = {
            "series_filter": [
                {k: v[k] for k in ("tags", "metadata", "metric", "metric_labels")} for v in values
            ]
        }
        data = httpx.post(
            f"{server.url}/api/v2/snapshots/{pid}/data_series_batch", json=body, timeout=60
        ).json()
        assert len(data["sources"]) == 2 + watched
        series = {
            (s["metric_type"].split(":")[-1], s["params"].get("value_type")): s["values"]
            for s in data["series"]
        }
        assert series[("RowCount", None)][:3] == [len(X), len(X), 40]
        share = series[("DriftedColumnsCount", "share")]
        assert share[0] == 0 and share[1] == loud.drift_share and share[-1] == w.checks[-1].drift_share
        assert any(
            s["metric_type"].endswith("ValueDrift") and s["params"]["column"] == "a" for s in data["series"]
        )
        # the cards link to the tool's own pages
        link = loud.card().links[0][1]
        assert link == f"{server.url}/projects/{pid}/reports/{loud.snapshot_id}"
        assert (
            httpx.get(f"{server.url}/api/projects/{pid}/{loud.snapshot_id}/data", timeout=60).status_code
            == 200
        )
        chain = ip.run_line_magic("mlops", f"lineage run:{ip.user_ns['run'].run_id}")  # the watch's checks
        links = [n.link for n in chain.of("drift_check")]
        assert len(links) == watched and all(
            x.startswith(f"{server.url}/projects/{pid}/reports/") for x in links
        )
        history = ip.run_line_magic("drift", "history credit-risk")
        assert len(history.records) == 2 + watched
        assert history.card().links == [("Evidently dashboard", f"{server.url}/projects/{pid}")]
        page = screenshot(
            f"{server.url}/projects/{pid}",
            "Number of drifted columns",
            "evidently-dashboard.png",
            wait_for=".MuiLineElement-root",
            height=1800,
        )  # the charts drew their data
        assert "This dashboard is currently empty" not in page
    finally:
        ip.run_line_magic("drift", "ui --stop")
