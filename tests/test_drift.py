"""%drift with real Evidently on data that drifts and data that does not."""

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import nbformat
import numpy as np
import pandas as pd
import pytest
from IPython.core.error import UsageError

from mlops_magics import servers
from mlops_magics.errors import DriftDetected


def frames(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame({"age": rng.normal(40, 10, n), "amount": rng.normal(5, 1, n),
                        "purpose": rng.choice(["car", "tv", "education"], n)})  # fmt: skip
    same = pd.DataFrame({"age": rng.normal(40, 10, n), "amount": rng.normal(5, 1, n),
                         "purpose": rng.choice(["car", "tv", "education"], n)})  # fmt: skip
    shifted = same.assign(
        age=same.age + 10, purpose=rng.choice(["car", "tv", "education"], n, p=[0.8, 0.1, 0.1])
    )
    return ref, same, shifted


@pytest.fixture
def dip(ip):
    ref, same, shifted = frames()
    ip.user_ns.update(ref=ref, same=same, shifted=shifted)
    return ip


def test_detects_drift_and_not_drift(dip):
    dip.run_line_magic("drift", "ref same -o quiet")
    dip.run_line_magic("drift", "ref shifted -o loud")
    quiet, loud = dip.user_ns["quiet"], dip.user_ns["loud"]
    assert not quiet.dataset_drift and quiet.drifted == []
    assert loud.dataset_drift and loud.drifted == ["age", "purpose"]
    assert loud.drift_share == pytest.approx(2 / 3)
    assert loud.scores["age"] > loud.columns[0].threshold
    bundle = loud._repr_mimebundle_()
    assert {"text/plain", "text/html"} <= set(bundle)
    # three distribution sparklines and the scores chart, inline SVG (no matplotlib)
    assert bundle["text/html"].count("<svg") == 4 and "mlops-drift-scores" in bundle["text/html"]
    assert "DRIFT: 2 of 3 columns drifted" in bundle["text/plain"] and "DRIFT" in bundle["text/html"]
    assert loud.report_path.endswith(".html") and "<html" in Path(loud.report_path).read_text()[:2000].lower()


def test_options_pass_through_to_evidently(dip):
    dip.run_line_magic("drift", "ref shifted --columns amount,purpose --stattest psi --threshold 0.2 -o r")
    r = dip.user_ns["r"]
    assert [c.column for c in r.columns] == ["amount", "purpose"]
    assert {c.method.lower() for c in r.columns} == {"psi"} and {c.threshold for c in r.columns} == {0.2}


def test_large_frames_are_sampled_and_say_so(dip):
    dip.run_line_magic("config", "MLOps.drift_sample_rows = 500")
    dip.run_line_magic("drift", "ref shifted -o r")
    assert "sampled to 500 rows per frame" in dip.user_ns["r"].card().to_text()


def test_missing_values_are_shown_and_an_empty_column_is_reported(dip):
    """Gaps are data: their share is shown per column, a jump in it is said, and a column with no value
    at all is reported (counted as drifted when only one side is empty), never a crash."""
    ref = dip.user_ns["ref"]
    dip.user_ns.update(
        gappy=ref.assign(age=ref.age.where(ref.index % 2 == 0)), blank=ref.assign(amount=np.nan)
    )
    r = dip.run_line_magic("drift", "ref gappy")
    age = next(c for c in r.columns if c.column == "age")
    assert age.missing_reference == 0 and age.missing_current == pytest.approx(0.5, abs=0.01)
    assert "missing values grew: age 0% -> 50%" in r.card().to_text() and "0% -> 50%" in r.table().to_text()
    r = dip.run_line_magic("drift", "ref blank")
    amount = next(c for c in r.columns if c.column == "amount")
    assert (
        amount.method == "all missing in current"
        and amount.drifted
        and [c.column for c in r.columns] == ["age", "amount", "purpose"]
    )
    assert "amount is empty (all missing) in current" in r.card().to_text()
    both = dip.run_line_magic("drift", "blank blank")
    assert not next(c for c in both.columns if c.column == "amount").drifted
    with pytest.raises(UsageError, match="every column to compare is empty"):
        dip.run_line_magic("drift", "ref blank --columns amount")


def test_target_and_prediction_are_compared_without_columns(dip):
    """--target/--prediction used to do nothing unless --columns was given."""
    ref, shifted = dip.user_ns["ref"], dip.user_ns["shifted"]
    rng = np.random.default_rng(1)
    dip.user_ns.update(lref=ref.assign(label=rng.integers(0, 2, len(ref)), score=rng.random(len(ref))),
                       lcur=shifted.assign(label=rng.integers(0, 2, len(shifted)), score=rng.random(len(shifted))))  # fmt: skip
    r = dip.run_line_magic("drift", "lref lcur --columns amount --target label --prediction score")
    assert {c.column: c.role for c in r.columns} == {
        "amount": "feature",
        "label": "target",
        "score": "prediction",
    }
    assert "categorical, target" in r.card().to_text() or "numerical, target" in r.card().to_text()
    with pytest.raises(UsageError, match="--target 'label' is not in the current data"):
        dip.run_line_magic("drift", "lref shifted --target label")


def test_saved_checks_are_counted_by_the_workspace_card(dip):
    """%mlops counted 0 drift snapshots: it looked in the wrong folder."""
    dip.run_line_magic("drift", "ref same --save credit")
    dip.run_line_magic("drift", "ref shifted --save credit")
    assert dip.run_line_magic("mlops", "").counts["drift snapshots"] == 2


def test_fail_gate_raises_only_on_drift(dip):
    dip.run_line_magic("drift", "ref same --fail")
    with pytest.raises(DriftDetected, match="2 of 3 columns drifted \\(age, purpose\\)"):
        dip.run_line_magic("drift", "ref shifted --fail")


def test_save_and_history(dip):
    dip.run_line_magic("drift", "ref same --save credit")
    dip.run_line_magic("drift", "ref shifted --save credit")
    hist = dip.run_line_magic("drift", "history credit")
    assert [r["dataset_drift"] for r in hist.records] == [False, True]
    assert "DRIFT" in hist.card().to_text()
    with pytest.raises(UsageError, match="no saved drift checks named 'nope'"):
        dip.run_line_magic("drift", "history nope")


@pytest.mark.parametrize(
    "line, message",
    [
        ("ref missing_var", "'missing_var' is neither a DataFrame variable, run:ID|last nor deployment:NAME"),
        ("ref empty", "the current data is empty"),
        ("ref other", "the frames share no column"),
        ("ref typed", "dtype mismatch between reference and current: age (float64 vs object)"),
        ("ref same --columns age,salary", "--columns salary: not in both frames"),
        ("ref", "needs a reference and current data"),
        ("ref same --window 1x", "--window '1x'"),
        ("ref deployment:nobody", "no deployment 'nobody'"),
    ],
)
def test_bad_input_is_one_line_and_fast(dip, line, message):
    ref = dip.user_ns["ref"]
    dip.user_ns.update(empty=ref.iloc[:0], other=pd.DataFrame({"x": [1]}), typed=ref.assign(age=ref.age.astype(str)),
                       blank=ref.assign(amount=np.nan))  # fmt: skip
    t = time.perf_counter()
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        dip.run_line_magic("drift", line)
    assert time.perf_counter() - t < 1.0
    assert type(info.value) is UsageError and "\n" not in str(info.value)


def test_deployment_traffic_against_training_data(registered):
    """Live traffic logged by the server, compared with the training data; drift logged to the model's run."""
    from mlops_magics.serving import local

    ip = registered
    ip.run_line_magic("deploy", "models:/credit-risk@champion --name cr")
    try:
        X = ip.user_ns["X"]
        shifted = X.assign(a=X.a + 3)
        for start in range(0, len(shifted), 20):  # traffic in small requests, from a plain client
            local.predict("cr", shifted.iloc[start : start + 20])
        ip.run_line_magic("drift", "X deployment:cr --columns a,b,c,d --window 1h --save cr -o r")
        r = ip.user_ns["r"]
        assert r.current_rows == len(X) and r.dataset_drift is False and r.drifted == ["a"]
        assert r.metadata["deployment"] == "cr" and r.metadata["run_id"] == ip.user_ns["run"].run_id
        run = ip.run_line_magic("track", f"show {ip.user_ns['run'].run_id}")
        assert run.metrics["drift_score.a"] == pytest.approx(r.scores["a"])
        assert "drift_share" in run.metrics
    finally:
        local.stop("cr")


def test_evidently_ui_answers_on_loopback(dip):
    dip.run_line_magic("drift", "ref shifted --save credit")
    dip.run_line_magic("drift", "ui")
    server = servers.get("evidently-ui")
    try:
        assert server.host == "127.0.0.1"
        projects = httpx.get(f"{server.url}/api/projects", timeout=10).json()
        assert "credit" in str(projects)
    finally:
        dip.run_line_magic("drift", "ui --stop")
    assert servers.get("evidently-ui") is None


def test_papermill_keeps_static_fallback_and_fails_on_drift(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    setup = ("import numpy as np, pandas as pd\nrng = np.random.default_rng(0)\n"
             "ref = pd.DataFrame({'x': rng.normal(0, 1, 500)})\nnew = pd.DataFrame({'x': rng.normal(2, 1, 500)})")  # fmt: skip
    nb.cells = [nbformat.v4.new_code_cell("%load_ext mlops_magics"), nbformat.v4.new_code_cell(setup),
                nbformat.v4.new_code_cell("%drift ref new"), nbformat.v4.new_code_cell("%drift ref new --fail"),
                nbformat.v4.new_code_cell("print('not reached')")]  # fmt: skip
    nbformat.write(nb, tmp_path / "monitor.ipynb")
    proc = subprocess.run([sys.executable, "-m", "papermill", "monitor.ipynb", "out.ipynb", "-k", "python3"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode != 0 and "DriftDetected" in proc.stderr
    out = nbformat.read(tmp_path / "out.ipynb", 4)
    drift_cell = next(c for c in out.cells if c.source == "%drift ref new")
    data = next(o for o in drift_cell.outputs if o.output_type in ("display_data", "execute_result"))["data"]
    assert (
        "mlops-drift-scores" in data["text/html"]
        and "mlops-drift" in data["text/html"]
        and ".html" in data["text/plain"]
    )
    assert not next(
        c for c in out.cells if c.source.startswith("print")
    ).outputs  # execution stopped at the gate


def test_run_reference_reads_the_training_features_back(ip):
    """run:last = the feature view versions the run was trained on, read from the workspace."""
    from test_features import frame

    ip.user_ns["applicants"] = frame(200)
    ip.run_cell_magic(
        "feature", "applicant_profile --entity applicant_id --timestamp event_timestamp", "applicants"
    )
    ip.user_ns["ents"] = pd.DataFrame(
        {"applicant_id": range(200), "event_timestamp": pd.Timestamp("2025-01-01", tz="UTC")}
    )
    ip.run_line_magic("feature", "get applicant_profile:age,credit_amount --entities ents -o train")
    ip.run_cell_magic("track", "trained -o run", "n = len(train)")
    ip.user_ns["new"] = frame(200).assign(age=lambda d: d.age + 30)[["age", "credit_amount"]]
    ip.run_line_magic("drift", "run:last new -o r")
    r = ip.user_ns["r"]
    assert r.reference_rows == 200 and [c.column for c in r.columns] == ["age", "credit_amount"]
    assert r.drifted == ["age"] and r.metadata["reference_run"] == ip.user_ns["run"].run_id
    ip.run_cell_magic("track", "no-features --features none", "m = 1")
    with pytest.raises(UsageError, match="recorded no training data"):
        ip.run_line_magic("drift", "run:last new")


def test_watch_updates_in_the_background_and_stops(registered):
    from mlops_magics import monitoring
    from mlops_magics.serving import local

    ip = registered
    ip.run_line_magic("deploy", "models:/credit-risk@champion --name w")
    try:
        with pytest.raises(UsageError, match="recorded no training data"):  # this model was not fed by Feast
            ip.run_line_magic("drift", "watch deployment:w --every 1s")
        X = ip.user_ns["X"]
        local.predict("w", X.iloc[:40])
        w = ip.run_line_magic("drift", "watch deployment:w --every 1s --reference X --min-rows 30 -o w")
        assert w is ip.user_ns["w"] and w.wait_for(1, timeout=60)
        assert not w.checks[-1].dataset_drift
        local.predict("w", X.assign(a=X.a + 5, b=X.b - 5))  # the traffic shifts while the watch runs
        assert w.wait_for(len(w.checks) + 1, timeout=60)
        assert w.checks[-1].dataset_drift and w.state == "WATCHING"
        n = len(w.checks)
        time.sleep(
            3.5
        )  # three intervals without new requests: no new check, and only the latest keeps its report
        assert len(w.checks) == n and w.checks[0].snapshot is None and w.checks[-1].snapshot is not None
        assert "<polyline" in w._repr_mimebundle_()["text/html"]  # the trend of the drift share
        ip.run_line_magic("drift", "watch --stop")
        assert not w.running and w.state == "STOPPED"
        # a watch also ends by itself when its deployment stops
        w2 = ip.run_line_magic("drift", "watch deployment:w --every 1s --reference X")
        local.stop("w")
        deadline = time.monotonic() + 30
        while w2.running and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not w2.running and w2.state == "DEPLOYMENT STOPPED"
    finally:
        monitoring.stop_watch()
        local.stop_all()


def test_full_report_is_written_when_first_needed(tmp_path):
    from mlops_magics.monitoring import check

    ref, _, shifted = frames(300)
    r = check(ref, shifted)
    assert not Path(r.planned_report).exists()  # computing the check does not render 5 MB of HTML
    assert "full report" in r.card().to_text()  # showing it names the report, written beside the cell
    assert Path(r.report_path).is_file() and r.report_path == r.planned_report


def test_showing_a_check_writes_its_report_once_without_waiting_for_it(tmp_path, monkeypatch):
    """The card names the report and a thread renders it (0.5 s for 100k rows, #22): the display does
    not wait, whatever reads report_path does, and showing it again writes nothing more."""
    import threading

    from mlops_magics.monitoring import check

    ref, _, shifted = frames(300)
    r = check(ref, shifted)
    rendering, writes, save = threading.Event(), [], r.snapshot.save_html

    def slow_save(path, *a, **k):
        writes.append(path)
        rendering.wait(30)  # held until the test has seen the display return
        return save(path, *a, **k)

    monkeypatch.setattr(r.snapshot, "save_html", slow_save)
    bundle = r._repr_mimebundle_()
    assert r.planned_report in bundle["text/plain"] and not Path(r.planned_report).exists()
    r._repr_mimebundle_()
    rendering.set()
    assert Path(r.report_path).is_file() and "<html" in Path(r.report_path).read_text()[:2000].lower()
    assert writes == [r.planned_report]


# -- issue #19: every listed case is one line and writes nothing outside the workspace ----------------------
def _escape(tmp_path, folder):
    """``../`` enough times to reach the root from the working directory, then ``folder``."""
    return "../" * (len(tmp_path.parts) + 2) + str(folder).lstrip("/")


@pytest.mark.parametrize(
    "line, message",
    [
        ("ref same --save {outside}/TRAVERSED", "--save '../../"),
        ("ref same --save ../../evil", "--save '../../evil': use up to 100 letters"),
        ("history ../../evil", "--save '../../evil'"),
        ("ref same --save a/b", "--save 'a/b'"),
        ("ref same --save " + "x" * 5000, "--save 'xxxxx"),
        ("ref same --drift-share 5", "argument --drift-share: 5 is out of range: give a share from"),
        ("ref same --threshold -1", "argument --threshold: -1 is out of range: give a threshold from 0"),
        ("ref same --target zz", "--target 'zz' is not in the reference data"),
        ("ui --port 99999", "argument --port: 99999 is out of range: give a port from 1 to 65535"),
        ("twins twins", "the reference data has more than one column named 'age'"),
        ("ref same --stattest zz", "--stattest 'zz': Evidently has no such test"),  # found by the fuzz suite
        ("ref same --stattest wasserstein", "--stattest 'wasserstein' does not apply to categorical columns"),
    ],
)
def test_hardening_cases_are_one_line_and_write_nothing_outside(dip, tmp_path, line, message):
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    ref = dip.user_ns["ref"]
    dip.user_ns["twins"] = pd.concat([ref[["age"]], ref[["age"]]], axis=1)  # two columns named age
    with pytest.raises(UsageError, match=re.escape(message)) as info:
        dip.run_line_magic("drift", line.format(outside=_escape(tmp_path, outside)))
    assert type(info.value) is UsageError and "\n" not in str(info.value)
    assert list(outside.iterdir()) == []
    assert not [p for p in tmp_path.parent.parent.iterdir() if p.name.startswith(("evil", "TRAVERSED"))]
    assert not list(tmp_path.glob("*.jsonl")) and not list(tmp_path.glob("*.html"))


def test_integer_column_names_are_compared_as_text(dip):
    rng = np.random.default_rng(1)
    dip.user_ns.update(
        a=pd.DataFrame(rng.normal(size=(300, 3))), b=pd.DataFrame(rng.normal(3, 1, size=(300, 3)))
    )
    r = dip.run_line_magic(
        "drift", "a b --columns 0,2 --target 1"
    )  # used to fail inside Evidently: KeyError '0'
    assert [c.column for c in r.columns] == ["0", "2", "1"] and r.dataset_drift


def test_wide_checks_are_bounded_and_show_progress(dip, capsys):
    """1,000 columns x 300 rows took 139 s with no progress shown."""
    rng = np.random.default_rng(2)
    wide = pd.DataFrame(rng.normal(size=(300, 1000)), columns=[f"c{i}" for i in range(1000)])
    dip.user_ns.update(wide=wide, wider=wide + rng.normal(0, 0.1, size=wide.shape))
    t = time.perf_counter()
    r = dip.run_line_magic("drift", "wide wider --target c999")
    seconds = time.perf_counter() - t
    compared = [c.column for c in r.columns]
    assert (
        len(compared) == 100 and "c999" in compared and compared == sorted(compared, key=lambda c: int(c[1:]))
    )
    assert "compared 100 of 1,000 columns, drawn at random (seed 0" in r.card().to_text()
    assert "drift" in capsys.readouterr().err  # the progress bar (tqdm.auto: a widget in a notebook)
    assert seconds < 60, seconds
    again = dip.run_line_magic("drift", "wide wider --target c999")
    assert [c.column for c in again.columns] == compared  # the same choice every time
    dip.run_line_magic("config", "MLOps.drift_max_columns = 30")
    assert len(dip.run_line_magic("drift", "wide wider").columns) == 30
