"""%%track and %track against the embedded store and a real `mlflow server`."""

import re

import mlflow
import numpy as np
import pytest
from IPython.core.error import UsageError

from conftest import running_runs

CELL = """
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
model = LogisticRegression(C=C).fit(X, y)
auc = roc_auc_score(y, model.predict_proba(X)[:, 1])
auc
"""


@pytest.fixture(autouse=True)
def no_run_left_open():
    yield
    assert mlflow.active_run() is None, "a test left an MLflow run active"


def test_cell_run_logs_params_metrics_model(training_data, store):
    ip = training_data
    value = ip.run_cell_magic("track", "base -e t1 --params C --metrics auc --model model -o res", CELL)
    res = ip.user_ns["res"]
    assert value == pytest.approx(ip.user_ns["auc"])  # the cell's value still comes back
    assert res.status == "FINISHED" and res.name == "base" and res.experiment == "t1"
    assert res.params == {"C": "0.5"}
    assert res.metrics["auc"] == pytest.approx(ip.user_ns["auc"])
    loaded = mlflow.pyfunc.load_model(res.model_uri)
    x = ip.user_ns["X"]
    np.testing.assert_array_equal(loaded.predict(x), ip.user_ns["model"].predict(x))
    # signature and input example came from what .fit() got
    assert [c.name for c in loaded.metadata.get_input_schema().inputs] == ["a", "b", "c", "d"]
    assert mlflow.artifacts.load_text(f"runs:/{res.run_id}/cell.py") == CELL
    assert not running_runs()
    # the result is built without reading the run back: it must equal what the store holds
    from mlops_magics.tracking import get_run

    stored = get_run(res.run_id)
    for attr in (
        "status",
        "params",
        "metrics",
        "model_uri",
        "experiment",
        "name",
        "start_time",
        "artifact_uri",
    ):
        assert getattr(res, attr) == getattr(stored, attr), attr
    assert res.tags.items() <= stored.tags.items()
    assert abs(res.end_time - stored.end_time) < 5


def test_run_card_shows_what_was_logged(training_data):
    res = (
        training_data.run_cell_magic("track", "base --params C --metrics auc -o res", CELL)
        and training_data.user_ns["res"]
    )
    bundle = res._repr_mimebundle_()
    assert "FINISHED" in bundle["text/plain"] and "metric auc" in bundle["text/plain"]
    assert "mlops-run" in bundle["text/html"] and "param C" in bundle["text/html"]


def test_failing_cell_leaves_run_failed(training_data, store):
    ip = training_data
    with pytest.raises(ZeroDivisionError):
        ip.run_cell_magic("track", "boom -e t2", "x = 1\n1 / 0")
    run = mlflow.search_runs(experiment_names=["t2"], output_format="list")[0]
    assert run.info.status == "FAILED"
    assert run.data.tags["mlops_magics.error_type"] == "ZeroDivisionError"
    assert "division by zero" in run.data.tags["mlops_magics.error"]
    assert ip.user_ns["x"] == 1  # what the cell did before failing is kept
    assert not running_runs()


def test_interrupted_cell_leaves_run_killed(training_data):
    with pytest.raises(KeyboardInterrupt):
        training_data.run_cell_magic("track", "stop -e t3", "raise KeyboardInterrupt")
    run = mlflow.search_runs(experiment_names=["t3"], output_format="list")[0]
    assert run.info.status == "KILLED"
    assert not running_runs()


def test_bad_variable_after_cell_fails_the_run_with_usage_error(training_data):
    with pytest.raises(UsageError, match="--metrics nope: no such variable"):
        training_data.run_cell_magic("track", "bad -e t4 --metrics nope", "z = 2")
    run = mlflow.search_runs(experiment_names=["t4"], output_format="list")[0]
    assert run.info.status == "FAILED"
    assert not running_runs()


@pytest.mark.parametrize(
    "line, cell, message",
    [
        ("x --metrics name", "name = 'abc'", "metric 'name' must be a number"),
        ("x --params api_token", "api_token = 's3cr3t'", "'api_token' looks like a secret"),
        ("x --params db_password", "db_password = 1", "looks like a secret"),
        ("x --params 1C", "pass", "'1C' is not a variable name"),
        ("x --model y", "y = 3", "has no predict"),
        ("x -o 9z", "pass", "-o takes a variable name"),
        ("runs", "pass", "is a %track subcommand"),
        ("x --nonsense", "pass", "unrecognized arguments: --nonsense"),
    ],
)
def test_bad_cell_input_is_one_line(training_data, line, cell, message):
    with pytest.raises(UsageError, match=message) as info:
        training_data.run_cell_magic("track", line, cell)
    assert type(info.value) is UsageError and "\n" not in str(info.value)
    assert not running_runs()


def test_secret_values_never_reach_the_store(training_data):
    with pytest.raises(UsageError):
        training_data.run_cell_magic("track", "s -e t5 --params C,api_key", "api_key = 'hunter2'")
    run = mlflow.search_runs(experiment_names=["t5"], output_format="list")
    assert all("hunter2" not in str(r.data.params) + str(r.data.tags) for r in run)


def test_runs_across_cells(training_data, store):
    ip = training_data
    ip.run_line_magic("track", "start multi -e t6")
    ip.run_line_magic("track", "log param C=1.0 lr=0.1 metric auc=0.91 tag team=risk")
    ip.run_line_magic("track", "log metric loss=0.2")
    res = ip.run_line_magic("track", "end -o done")
    assert res is ip.user_ns["done"]
    assert res.status == "FINISHED"
    assert res.params == {"C": "1.0", "lr": "0.1"}
    assert res.metrics == {"auc": 0.91, "loss": 0.2}
    assert res.tags["team"] == "risk"


@pytest.mark.parametrize(
    "line, message",
    [
        ("end", "no run is open"),
        ("log metric auc=0.9", "no run is open"),
        ("show 0123456789abcdef0123456789abcdef", "no run '0123456789abcdef0123456789abcdef'"),
        ("show no-such-run", "no run with id or name 'no-such-run'"),
        ("register no-such-run --name m", "no run with id or name"),
        ("runs --experiment nope", "no experiment 'nope'"),
        ("frobnicate", "no subcommand 'frobnicate'"),
        ("", "needs a subcommand"),
    ],
)
def test_bad_line_input_is_one_line(ip, line, message):
    with pytest.raises(UsageError, match=message) as info:
        ip.run_line_magic("track", line)
    assert type(info.value) is UsageError and "\n" not in str(info.value)


def test_log_rejects_non_numeric_metric_and_keeps_run_open(ip):
    ip.run_line_magic("track", "start m -e t7")
    try:
        with pytest.raises(UsageError, match="metric 'auc' must be a number"):
            ip.run_line_magic("track", "log metric auc=high")
        with pytest.raises(UsageError, match="cannot read 'C'"):
            ip.run_line_magic("track", "log param C")
        assert mlflow.active_run() is not None
    finally:
        ip.run_line_magic("track", "end")


def test_runs_compare_register_models(training_data, store):
    ip = training_data
    ip.run_cell_magic("track", "small -e t8 --params C --metrics auc --model model", CELL)
    ip.user_ns["C"] = 0.01
    ip.run_cell_magic("track", "tiny -e t8 --params C --metrics auc --model model", CELL)
    runs = ip.run_line_magic("track", "runs -e t8 --last 5")
    assert [r.name for r in runs.runs] == ["tiny", "small"]
    assert "auc" in runs.table().columns
    by_auc = runs.table(sort_by="auc", descending=False)
    aucs = [row[by_auc.columns.index("auc")] for row in by_auc.rows]
    assert aucs == sorted(aucs)

    cmp = ip.run_line_magic("track", "compare small tiny")
    assert "param C" in cmp.differences
    assert "background:#fff8c5" in cmp._repr_mimebundle_()["text/html"]

    version = ip.run_line_magic("track", "register small --name credit-risk-t8 --alias champion")
    assert version.version == 1 and version.aliases == ["champion"]
    ip.run_line_magic("track", "register last --name credit-risk-t8 --alias challenger")
    models = ip.run_line_magic("track", "models")
    row = next(r for r in models.rows if r[0] == "credit-risk-t8")
    assert row[1] == 2 and "@champion→v1" in row[2] and "@challenger→v2" in row[2]
    champion = mlflow.pyfunc.load_model("models:/credit-risk-t8@champion")
    assert champion.metadata.run_id == runs.runs[1].run_id


def test_register_without_model_says_how(training_data):
    training_data.run_cell_magic("track", "nomodel -e t9", "z = 1")
    with pytest.raises(UsageError, match="has no logged model; log one with"):
        training_data.run_line_magic("track", "register last --name m")


def test_tree_models_log_and_load(training_data):
    """mlflow 3.17 saves sklearn with skops, which refuses tree internals unless they are trusted."""
    ip = training_data
    cell = "from sklearn.ensemble import GradientBoostingClassifier\ngb = GradientBoostingClassifier(n_estimators=5).fit(X, y)"
    ip.run_cell_magic("track", "gb -e t10 --model gb -o res", cell)
    loaded = mlflow.pyfunc.load_model(ip.user_ns["res"].model_uri)
    np.testing.assert_array_equal(loaded.predict(ip.user_ns["X"]), ip.user_ns["gb"].predict(ip.user_ns["X"]))


def test_autolog(training_data):
    ip = training_data
    ip.run_cell_magic("track", "auto -e t11 --autolog -o res", CELL)
    assert ip.user_ns["res"].params["C"] == "0.5"  # logged by MLflow's sklearn autologging
    assert "training_score" in " ".join(ip.user_ns["res"].metrics)


def test_switching_workspace_after_first_use(ip, tmp_path):
    """MLflow exports MLFLOW_TRACKING_URI on first use; that must not pin the session to one store."""
    import os

    ip.run_line_magic("track", "start one")
    first = ip.run_line_magic("track", "end")
    assert "MLFLOW_TRACKING_URI" not in os.environ
    ip.run_line_magic("config", f"MLOps.home = '{tmp_path / 'other'}'")
    ip.run_line_magic("track", "start two")
    second = ip.run_line_magic("track", "end")
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    from mlops_magics.tracking import tracking_uri

    assert second.artifact_uri.startswith("mlflow-artifacts:/")  # portable: no path of this machine
    repo = get_artifact_repository(second.artifact_uri, tracking_uri=tracking_uri())
    assert repo.artifact_dir.startswith(str(tmp_path / "other"))  # read from the new workspace's folder
    assert [r.name for r in ip.run_line_magic("track", "runs").runs] == ["two"]
    assert first.run_id != second.run_id


# -- issue #19 ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "line, message",
    [
        ('show "it\'s"', 'no run with id or name "it\'s"'),
        ("show 'back\\slash'", "a name to search for cannot hold both kinds of quote nor a backslash"),
        ("runs --last 0", "argument --last: 0 is out of range: give a whole number from 1"),
        ("ui --port 99999", "argument --port: 99999 is out of range: give a port from 1 to 65535"),
        ("start x -e " + "e" * 501, "a name of at most 500 characters"),
        ("show " + "x" * 5000, "no run with id or name 'xxxxx"),
    ],
)
def test_hardening_lines_are_one_line(ip, line, message):
    with pytest.raises(UsageError, match=re.escape(message)) as info:
        ip.run_line_magic("track", line)
    assert type(info.value) is UsageError and "\n" not in str(info.value) and len(str(info.value)) < 300
    assert not running_runs()


def test_a_quote_in_a_run_name_cannot_change_the_query(training_data):
    ip = training_data
    ip.run_cell_magic("track", "y -e t19", "pass")
    with pytest.raises(UsageError, match="no run with id or name"):  # it used to find run y
        ip.run_line_magic("track", "show \"x' OR attributes.run_name = 'y\"")
    ip.run_cell_magic("track", '"it\'s" -e t19', "pass")
    assert ip.run_line_magic("track", 'show "it\'s"').name == "it's"


def test_secret_looking_tag_keys_are_refused_like_params(training_data):
    ip = training_data
    ip.run_line_magic("track", "start tags -e t19s")
    try:
        with pytest.raises(UsageError, match="tag 'api_token' looks like a secret") as info:
            ip.run_line_magic("track", "log tag api_token=hunter2")
        assert "\n" not in str(info.value)
        ip.run_line_magic("track", "log tag author=me")  # "auth" inside a word is no secret
    finally:
        ip.run_line_magic("track", "end")
    with pytest.raises(UsageError, match="tag 'secret_key' looks like a secret"):
        ip.run_cell_magic("track", "cell -e t19s --tag secret_key=hunter2", "ran = True")
    assert "ran" not in ip.user_ns  # refused before the cell ran, and no run was made
    runs = mlflow.search_runs(experiment_names=["t19s"], output_format="list")
    assert [r.info.run_name for r in runs] == ["tags"] and runs[0].data.tags["author"] == "me"
    assert all("hunter2" not in str(r.data.tags) for r in runs)
