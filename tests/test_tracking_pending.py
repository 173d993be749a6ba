"""Metric points from a loop: journaled at once, stored in batches, never lost (tracking/pending.py)."""

import textwrap

import pytest

from conftest import run_python

LOOP = textwrap.dedent(
    """
    import json, os, signal
    from mlops_magics import tracking
    run_id = tracking.start_run("loop", "pending")
    for i in range({n}):
        tracking.log(run_id, metrics={{"loss": 1 / (i + 1), "acc": 0.5}})
    print(json.dumps({{"run_id": run_id}}), flush=True)
    {then}
    """
)


def _history(run_id: str, key: str = "loss") -> list:
    from mlops_magics.tracking import client

    return sorted(client().get_metric_history(run_id, key), key=lambda m: m.step)


def _journals(home) -> list:
    folder = home / "mlflow" / "pending"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def _logged(tmp_path, n: int, then: str):
    import json

    proc = run_python(LOOP.format(n=n, then=then), env={"MLOPS_HOME": str(tmp_path / ".mlops")})
    return proc, json.loads(proc.stdout.strip().splitlines()[-1])["run_id"]


def test_a_loop_through_the_magic_keeps_every_point_with_its_step(training_data):
    ip = training_data
    ip.run_line_magic("track", "start loop -e pending")
    for i in range(300):
        logged = ip.run_line_magic("track", f"log metric loss={1 / (i + 1)} metric acc=0.5")
    ip.run_line_magic("track", "log metric lr=0.1 --step 40")
    assert logged.metrics["loss"] == pytest.approx(1 / 300)  # read back (flushed) when asked for
    assert "metric loss" in logged._repr_mimebundle_()["text/plain"]
    done = ip.run_line_magic("track", "end")
    loss, acc = _history(done.run_id), _history(done.run_id, "acc")
    assert [m.step for m in loss] == list(range(300)) and loss[-1].value == pytest.approx(1 / 300)
    assert len(acc) == 300  # the same value every step: none merged away
    assert [m.step for m in _history(done.run_id, "lr")] == [40]
    from mlops_magics.workspace import current

    folder = current().root / "mlflow" / "pending"
    assert [p.stat().st_size for p in folder.iterdir()] == [0]  # all stored: this kernel's journal is empty


def test_points_of_a_process_that_exits_without_ending_its_run_are_stored(tmp_path, monkeypatch):
    proc, run_id = _logged(tmp_path, 2000, "")
    assert proc.returncode == 0, proc.stderr[-2000:]
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path / ".mlops"))
    assert len(_history(run_id)) == 2000
    assert _journals(tmp_path / ".mlops") == []  # a clean exit leaves no journal


def test_points_of_a_killed_process_are_replayed_by_the_next_one(tmp_path, monkeypatch):
    proc, run_id = _logged(tmp_path, 3000, "os.kill(os.getpid(), signal.SIGKILL)")
    assert proc.returncode == -9
    home = tmp_path / ".mlops"
    assert len(_journals(home)) == 1  # what the dead process had not stored yet is on disk
    monkeypatch.setenv("MLOPS_HOME", str(home))
    from mlops_magics.tracking import get_run

    run = get_run(run_id)  # opening the store replays the journal, then sweeps the dead run
    assert run.status == "KILLED"
    assert [m.step for m in _history(run_id)] == list(range(3000))
    assert _journals(home) == []


def test_a_point_for_a_run_that_does_not_exist_fails_at_once(ip):
    from mlops_magics.errors import BackendError
    from mlops_magics.tracking import log

    with pytest.raises(BackendError, match="log_batch"):
        log("0" * 32, metrics={"loss": 1.0})


def test_a_bad_step_is_refused(ip):
    from mlops_magics.errors import UserInputError
    from mlops_magics.tracking import end_run, log, start_run

    run_id = start_run("steps", "pending")
    with pytest.raises(UserInputError, match="step -1"):
        log(run_id, metrics={"loss": 1.0}, step=-1)
    end_run(run_id)
