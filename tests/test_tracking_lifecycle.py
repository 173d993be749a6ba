"""Runs never stay RUNNING: dead kernels are swept, concurrent writers lose nothing, UIs are stopped."""

import subprocess
import sys
import textwrap
import time

import httpx
import psutil
import pytest

from mlops_magics import servers

from conftest import run_python

KERNEL = textwrap.dedent(
    """
    import os, sys, time
    from IPython.core.interactiveshell import InteractiveShell
    sh = InteractiveShell.instance()
    sh.run_line_magic('load_ext', 'mlops_magics')
    sh.run_line_magic('track', 'start {name} -e sweep')
    print('ready', flush=True)
    {then}
    """
)


def _run(name):
    from mlops_magics.tracking import client

    c = client()
    return c.search_runs(
        [c.get_experiment_by_name("sweep").experiment_id], f"attributes.run_name = '{name}'"
    )[0]


def test_dead_kernel_run_is_killed_on_next_load_live_one_untouched(ip_empty, tmp_path):
    live = subprocess.Popen(
        [sys.executable, "-c", KERNEL.format(name="alive", then="time.sleep(300)")],
        cwd=tmp_path, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert live.stdout.readline().strip() == "ready"
        died = run_python(KERNEL.format(name="orphan", then="os._exit(1)"), cwd=tmp_path)
        assert died.returncode == 1 and "ready" in died.stdout, died.stderr
        assert _run("orphan").info.status == "RUNNING"  # nobody has swept it yet
        ip_empty.run_line_magic("load_ext", "mlops_magics")  # the sweep happens here, with sqlite3 only
        orphan, alive = _run("orphan"), _run("alive")
        assert orphan.info.status == "KILLED"
        assert orphan.data.tags["mlops_magics.killed_reason"] == "owning kernel process died"
        assert orphan.info.end_time is not None
        assert alive.info.status == "RUNNING"
    finally:
        live.kill()
        live.wait()
    from mlops_magics.tracking import sweep_dead_runs

    assert sweep_dead_runs() == [alive.info.run_id]  # the same rule through MLflow's client (any store)
    assert _run("alive").info.status == "KILLED"
    ip_empty.run_line_magic("unload_ext", "mlops_magics")


WRITER = textwrap.dedent(
    """
    import sys, time
    from mlops_magics import tracking
    n, start_at = int(sys.argv[1]), float(sys.argv[2])
    time.sleep(max(0, start_at - time.time()))
    run_id = tracking.start_run(f"writer-{{n}}", "concurrency")
    for i in range({count}):
        tracking.log(run_id, metrics={{f"m{{i}}": i}})
    tracking.end_run(run_id)
    print(run_id)
    """
)


def test_concurrent_writers_lose_no_metric(tmp_path):
    """4 processes x 150 metrics into a fresh embedded store at once (the full 8 x 1,000 is bench/)."""
    count, procs = 150, []
    start_at = time.time() + 8  # all interpreters import mlflow first, then start together
    for n in range(4):
        procs.append(subprocess.Popen(
            [sys.executable, "-c", WRITER.format(count=count), str(n), str(start_at)],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))  # fmt: skip
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err[-2000:]
        assert "database is locked" not in err
    from mlops_magics.tracking import client

    c = client()
    for out, _ in outs:
        run = c.get_run(out.strip().splitlines()[-1])
        assert run.info.status == "FINISHED"
        assert len(run.data.metrics) == count


def test_track_ui_serves_and_stops(ip):
    ip.run_line_magic("track", "ui")
    server = servers.get("mlflow-ui")
    try:
        assert server is not None and server.host == "127.0.0.1"
        assert httpx.get(f"{server.url}/health", timeout=5).status_code == 200
        ip.run_line_magic("track", "start linked")
        res = ip.run_line_magic("track", "end")
        assert res.ui_url.startswith(server.url) and res.run_id in res.ui_url
        assert server.url in res._repr_mimebundle_()["text/html"]
    finally:
        ip.run_line_magic("track", "ui --stop")
    assert not psutil.pid_exists(server.pid) or psutil.Process(server.pid).status() == psutil.STATUS_ZOMBIE
    assert servers.get("mlflow-ui") is None


def test_unload_stops_every_server(ip_empty):
    ip_empty.run_line_magic("load_ext", "mlops_magics")
    ip_empty.run_line_magic("track", "ui")
    pid = servers.get("mlflow-ui").pid
    children = [p.pid for p in psutil.Process(pid).children(recursive=True)]
    ip_empty.run_line_magic("unload_ext", "mlops_magics")
    for p in [pid, *children]:
        assert not psutil.pid_exists(p) or psutil.Process(p).status() == psutil.STATUS_ZOMBIE


def test_server_that_cannot_start_reports_log_tail(tmp_path):
    from mlops_magics.errors import ServerError

    with pytest.raises(ServerError) as info:
        servers.start(
            "broken", [sys.executable, "-c", "import sys; print('bad config: port missing'); sys.exit(3)"],
            host="127.0.0.1", port=servers.free_port(), log_path=tmp_path / "broken.log",
            ready=lambda s: False, timeout=30,
        )  # fmt: skip
    assert "exited with code 3" in str(info.value)
    assert "bad config: port missing" in "\n".join(info.value._render_traceback_())
    assert servers.get("broken") is None


def test_a_dead_kernels_run_is_swept_before_any_listing(ip, store, tmp_path, monkeypatch):
    """Issue #19: with MLFLOW_TRACKING_URI set (even to a SQLite file) a dead kernel's RUNNING run was
    swept only when this process started its next run; %track runs listed it as RUNNING meanwhile."""
    if store == "embedded":
        monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'own.db'}")
    ip.run_line_magic("track", "runs")  # this process has read the store: its one sweep is spent
    died = run_python(KERNEL.format(name="orphan", then="os._exit(1)"), cwd=tmp_path)
    assert died.returncode == 1 and "ready" in died.stdout, died.stderr
    listed = ip.run_line_magic("track", "runs -e sweep").runs
    assert [(r.name, r.status) for r in listed if r.name == "orphan"] == [("orphan", "KILLED")]
