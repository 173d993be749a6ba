"""The workspace's Feast folder is a Feast repo Feast agrees with: the real ``feast`` CLI (a subprocess)
plans no changes after ``%%feature`` writes, ``feast apply`` keeps everything, concurrent writers keep
the code in step with the registry, and ``%feature ui`` is Feast's own UI over the workspace."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

from mlops_magics.features import code

from chromium import screenshot
from conftest import ROOT, run_python

FEAST = [sys.executable, "-m", "feast.cli.cli"]


def feast(folder: Path, *args: str) -> str:
    """The real Feast CLI in the workspace's Feast folder, as a user types it there."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS", "MLFLOW"))}
    done = subprocess.run([*FEAST, *args], cwd=folder, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def applicants(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"applicant_id": np.arange(n), "event_timestamp": pd.Timestamp("2024-01-01", tz="UTC"),
                         "age": rng.normal(40, 10, n), "amount": rng.integers(0, 100, n),
                         "city": rng.choice(["x", "y"], n), "vip": rng.choice([True, False], n)})  # fmt: skip


MODE2 = """
from datetime import timedelta
from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
from feast.types import Float64, Int64
driver = Entity(name="driver_id", value_type=ValueType.INT64, description="a driver")
drivers = FileSource(name="drivers", path=DRIVERS, timestamp_field="ts")
driver_stats = FeatureView(name="driver_stats", entities=[driver], ttl=timedelta(days=1), source=drivers,
                           schema=[Field(name="rate", dtype=Float64), Field(name="trips", dtype=Int64)],
                           tags={"team": "risk"}, description="hourly driver stats")
global_stats = FeatureView(name="global_stats", entities=[], ttl=timedelta(days=1), source=drivers,
                           schema=[Field(name="rate", dtype=Float64)])
driver_service = FeatureService(name="driver_service", features=[driver_stats[["rate"]]], tags={"a": "b"})
"""


def test_feast_plan_in_the_workspace_reports_no_changes_and_apply_keeps_everything(ip, tmp_path):
    frame = applicants()
    drivers = tmp_path / "drivers.parquet"
    pd.DataFrame({"driver_id": np.arange(10), "ts": pd.Timestamp("2024-01-01", tz="UTC"),
                  "rate": np.linspace(0, 1, 10), "trips": np.arange(10)}).to_parquet(drivers)  # fmt: skip
    ip.user_ns.update(frame=frame, DRIVERS=str(drivers))
    reg = "{} --entity applicant_id --timestamp event_timestamp --description '{}'"
    ip.run_cell_magic(
        "feature",
        reg.format("profile", "Applicant profile"),
        "frame[['applicant_id', 'event_timestamp', 'age', 'amount']]",
    )
    ip.run_cell_magic(
        "feature", reg.format("habits", "Habits"), "frame[['applicant_id', 'event_timestamp', 'city', 'vip']]"
    )
    # a re-registration with a new column, a view registered and deleted, Feast objects defined in a cell
    ip.run_cell_magic("feature", reg.format("profile", "Applicant profile"),
                      "frame[['applicant_id', 'event_timestamp', 'age', 'amount', 'city']]")  # fmt: skip
    ip.run_cell_magic(
        "feature", reg.format("gone", "Soon deleted"), "frame[['applicant_id', 'event_timestamp', 'age']]"
    )
    ip.run_line_magic("feature", "delete gone")
    ip.run_cell_magic("feature", "--apply -o applied", MODE2)
    assert ip.user_ns["applied"].not_in_code == []
    online = ip.run_line_magic(
        "feature", "online profile:age,amount,city habits:vip --entity applicant_id=1,2"
    )

    folder = tmp_path / ".mlops" / "feast"
    text = (folder / code.FILE).read_text()
    assert "gone" not in text and "'city'" in text and "driver_service" in text
    compile(text, code.FILE, "exec")  # Python that a reviewer can read and a team can commit

    plan = feast(folder, "plan")
    assert "No changes to registry" in plan and "No changes to infrastructure" in plan, plan
    assert not any(word in plan for word in ("Deleted", "Updated", "Created")), plan
    views = feast(folder, "feature-views", "list")
    for name in ("profile", "habits", "driver_stats", "global_stats"):
        assert name in views
    applied = feast(folder, "apply")
    assert "No changes to registry" in applied, applied
    assert feast(folder, "feature-views", "list") == views
    assert "driver_service" in feast(folder, "feature-services", "list")
    # the kernel still reads the same values, and its next write finds the registry as it left it
    again = ip.run_line_magic(
        "feature", "online profile:age,amount,city habits:vip --entity applicant_id=1,2"
    )
    pd.testing.assert_frame_equal(again, online)
    ip.run_cell_magic(
        "feature", reg.format("habits", "Habits"), "frame[['applicant_id', 'event_timestamp', 'city', 'vip']]"
    )
    assert "profile" in feast(folder, "feature-views", "list")


def test_what_cannot_be_code_is_named_on_the_plan_and_in_the_file(ip):
    ip.user_ns["frame"] = applicants()
    ip.run_cell_magic("feature", "profile --entity applicant_id --timestamp event_timestamp",
                      "frame[['applicant_id', 'event_timestamp', 'age']]")  # fmt: skip
    cell = textwrap.dedent("""
        import pandas as pd
        from feast import Field, RequestSource
        from feast.on_demand_feature_view import on_demand_feature_view
        from feast.types import Float64
        from mlops_magics.features import get_view

        request = RequestSource(name="request", schema=[Field(name="bonus", dtype=Float64)])

        @on_demand_feature_view(sources=[get_view("profile"), request], schema=[Field(name="older", dtype=Float64)])
        def older(df: pd.DataFrame) -> pd.DataFrame:
            return pd.DataFrame({"older": df["age"] + df["bonus"]})
    """)
    ip.run_cell_magic("feature", "--apply -o applied", cell)
    plan = ip.user_ns["applied"]
    assert any("older" in x for x in plan.not_in_code)
    assert any("older" in line and "feast apply" in line for line in plan.lines())
    text = (Path(".mlops") / "feast" / code.FILE).read_text()
    assert "would delete them" in text and "older" in text and "view_profile = FeatureView(" in text


CONCURRENT = """
import os, sys
import numpy as np, pandas as pd
from mlops_magics import features
name = sys.argv[1]
frame = pd.DataFrame({"applicant_id": np.arange(30), "event_timestamp": pd.Timestamp("2024-01-01", tz="UTC"),
                      "x": np.arange(30) * 1.0})
for i in range(3):
    features.register_frame(frame.assign(x=frame.x + i), name, "applicant_id", "event_timestamp", materialize=False)
"""


def test_concurrent_writers_keep_the_code_in_step_with_the_registry(tmp_path):
    env = {**os.environ, "MLOPS_HOME": str(tmp_path / "ws"), "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT, name], env=env, stderr=subprocess.PIPE, text=True)
             for name in ("alpha", "beta", "gamma")]  # fmt: skip
    for p in procs:
        assert p.wait(600) == 0, p.stderr.read()[-3000:]
    check = """
import pathlib
from mlops_magics.features import code, store
fs = store()
text = (pathlib.Path(fs.repo_path) / code.FILE).read_text()
assert text == code.render(fs)[0], "the file is not what the registry holds"
print(sorted(v.name for v in fs.list_feature_views()))
"""
    done = run_python(check, env={"MLOPS_HOME": str(tmp_path / "ws")}, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "['alpha', 'beta', 'gamma']" in done.stdout
    # a workspace made before the code was written gets it on the next use
    (tmp_path / "ws" / "feast" / code.FILE).unlink()
    done = run_python(check, env={"MLOPS_HOME": str(tmp_path / "ws")}, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


def test_feature_ui_is_feasts_own_ui_and_the_card_links_to_the_view(ip):
    from mlops_magics.features.ui import view_url

    ip.user_ns["frame"] = applicants()
    ip.run_cell_magic("feature", "profile --entity applicant_id --timestamp event_timestamp",
                      "frame[['applicant_id', 'event_timestamp', 'age', 'amount']]")  # fmt: skip
    assert not ip.run_line_magic("feature", "show profile").card().links  # no UI yet: no link
    server = ip.run_line_magic("feature", "ui")
    try:
        assert server.host == "127.0.0.1"
        views = httpx.get(
            f"{server.url}/api/v1/feature_views", params={"project": "mlops"}, timeout=30
        ).json()
        assert [v["spec"]["name"] for v in views["featureViews"]] == ["profile"]
        # a view registered while the UI runs shows up in it
        ip.run_cell_magic("feature", "later --entity applicant_id --timestamp event_timestamp",
                          "frame[['applicant_id', 'event_timestamp', 'age']]")  # fmt: skip
        later = httpx.get(f"{server.url}/api/v1/feature_views/later", params={"project": "mlops"}, timeout=30)
        assert later.status_code == 200 and later.json()["spec"]["name"] == "later"
        card = ip.run_line_magic("feature", "show profile").card()
        assert card.links == [("Feast UI", view_url("profile"))]
        assert card.links[0][1] == f"{server.url}/p/mlops/feature-view/profile"
        assert ip.run_line_magic("feature", "ui") is server  # a running UI is reused
        assert ("Feast UI", server.url) in ip.run_line_magic("mlops", "").card().links
        # lineage: the view a run trained on links to its page
        ip.user_ns["ents"] = ip.user_ns["frame"][["applicant_id", "event_timestamp"]]
        ip.run_line_magic("feature", "get profile:age --entities ents -o train")
        ip.run_cell_magic("track", "trained", "n = len(train)")
        chain = ip.run_line_magic("mlops", "lineage run:last")
        assert [n.link for n in chain.of("feature_view")] == [view_url("profile")]
        page = screenshot(card.links[0][1], "mlops_magics.fingerprint", "feast-view.png")
        assert "profile" in page and "amount" in page
    finally:
        ip.run_line_magic("feature", "ui --stop")
    assert not ip.run_line_magic("feature", "show profile").card().links
