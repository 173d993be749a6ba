import pytest
from IPython.core.error import UsageError

from mlops_magics.status import WorkspaceStatus


def test_status_renders_text_and_html(ip, tmp_path):
    result = ip.run_line_magic("mlops", "")
    assert isinstance(result, WorkspaceStatus)
    bundle = result._repr_mimebundle_()
    assert {"text/plain", "text/html"} <= set(bundle)
    assert str(tmp_path / ".mlops") in bundle["text/plain"]
    assert "not created yet" in bundle["text/plain"]
    assert "mlops-workspace" in bundle["text/html"]
    # not in a live kernel: no widget in the bundle
    assert "application/vnd.jupyter.widget-view+json" not in bundle


def test_init_creates_the_workspace(ip, tmp_path):
    result = ip.run_line_magic("mlops", "init")
    assert result.exists
    assert (tmp_path / ".mlops" / "workspace.json").is_file()
    assert result.counts["runs"] == 0


def test_init_path_switches_the_session(ip, tmp_path):
    target = tmp_path / "data" / "ws"
    ip.run_line_magic("mlops", f"init {target} -o st")
    assert ip.user_ns["st"].home == str(target)
    assert ip.run_line_magic("mlops", "").home == str(target)


def test_counts_read_the_mlflow_store_without_mlflow(ip, tmp_path):
    import sqlite3

    ws = ip.run_line_magic("mlops", "init")
    db = tmp_path / ".mlops" / "mlflow" / "mlflow.db"
    with sqlite3.connect(db) as con:  # the two tables the count reads, as MLflow lays them out
        con.execute("CREATE TABLE runs (run_uuid TEXT, lifecycle_stage TEXT)")
        con.execute("CREATE TABLE registered_models (name TEXT)")
        con.executemany(
            "INSERT INTO runs VALUES (?, ?)", [("a", "active"), ("b", "active"), ("c", "deleted")]
        )
        con.execute("INSERT INTO registered_models VALUES ('credit-risk')")
    ws = ip.run_line_magic("mlops", "")
    assert ws.counts["runs"] == 2
    assert ws.counts["registered models"] == 1


@pytest.mark.parametrize(
    "line, message",
    [
        ("--nonsense", "unrecognized arguments: --nonsense"),
        ("frobnicate", "no subcommand 'frobnicate'"),
        ("status extra", "unrecognized arguments: extra"),
        ("-o 1x", "variable name"),
    ],
)
def test_bad_input_is_one_line_usage_error(ip, line, message):
    with pytest.raises(UsageError, match=message) as info:
        ip.run_line_magic("mlops", line)
    assert type(info.value) is UsageError  # IPython prints a short message only for the exact type
    assert "\n" not in str(info.value)


def test_help_comes_from_the_argument_spec(ip):
    doc = ip.find_line_magic("mlops").__doc__
    assert "%mlops [-o NAME] [command]" in doc
    assert "init [PATH]" in doc


def test_status_never_shows_a_password(ip, monkeypatch):
    ip.run_line_magic("config", "MLOps.online_store = 'redis://:hunter2@127.0.0.1:6379/0'")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "postgresql://mlflow:s3cr3t@db:5432/mlflow")
    text = ip.run_line_magic("mlops", "")._repr_mimebundle_()["text/plain"]
    assert "hunter2" not in text and "s3cr3t" not in text
    assert "redis://:***@127.0.0.1:6379/0" in text and "postgresql://mlflow:***@db:5432/mlflow" in text


def test_status_does_not_wait_for_a_tracking_server_that_does_not_answer(ip, monkeypatch):
    """It took 100 s (MLflow's client retries with backoff) before the card showed."""
    import time

    import mlflow  # noqa: F401 - the counts are only asked of a loaded MLflow

    from mlops_magics.servers import free_port

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port('127.0.0.1')}")
    started = time.monotonic()
    text = ip.run_line_magic("mlops", "")._repr_mimebundle_()["text/plain"]
    assert "no answer from 127.0.0.1:" in text
    assert time.monotonic() - started < 30  # a bound far from the 2 s it takes, not a speed goal
