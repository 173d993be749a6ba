"""What a V2 client can rely on, checked with a real Open Inference Protocol client (tritonclient) and by
hand against a real MLServer: metadata and responses agree, scores are served, malformed requests get
a 4xx that names the input, and a server never outlives the process that owns it (unless detached)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import psutil
import pytest
from IPython.core.error import UsageError

from mlops_magics.errors import ServerError
from mlops_magics.serving import deployments

TRAIN = """
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
prep = ColumnTransformer([("num", SimpleImputer(strategy="median"), ["age", "income"]),
                          ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                                OneHotEncoder(handle_unknown="ignore")), ["city"])])
model = make_pipeline(prep, LogisticRegression(max_iter=500)).fit(X, y)
"""


def applicants(n=300, seed=0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"age": rng.integers(18, 80, n), "income": rng.normal(50, 15, n),
                      "city": rng.choice(["paris", "lyon", "nice"], n).astype(object)})  # fmt: skip
    X.loc[X.index % 7 == 0, "income"] = np.nan  # gaps in training data: income is a double column
    X.loc[X.index % 11 == 0, "city"] = np.nan
    y = pd.Series(np.where(X.age + rng.normal(0, 10, n) > 50, "bad", "good"))
    return X, y


@pytest.fixture(scope="module")
def served(shell, tmp_path_factory):
    """A classifier with string labels, a categorical column and imputation, served as 'contract'."""
    home = tmp_path_factory.mktemp("contract") / ".mlops"
    shell.run_line_magic("load_ext", "mlops_magics")
    shell.run_line_magic("config", f"MLOps.home = {str(home)!r}")
    X, y = applicants()
    shell.user_ns.update(X=X, y=y)
    shell.run_cell_magic("track", "contract --model model -o run", TRAIN)
    shell.run_line_magic("track", "register last --name contract --alias champion")
    dep = shell.run_line_magic("deploy", "models:/contract@champion --name contract")
    yield shell, dep, home
    shell.run_line_magic("deploy", "stop --all")
    shell.run_line_magic("unload_ext", "mlops_magics")
    shell.config.pop("MLOps", None)


def _local(shell):
    import mlflow

    from mlops_magics.tracking import client

    client()
    return mlflow.pyfunc.load_model("models:/contract@champion")


def test_tritonclient_sees_matching_metadata_and_the_same_predictions(served):
    import tritonclient.http as tc

    shell, dep, _ = served
    client = tc.InferenceServerClient(url=dep.url.removeprefix("http://"))
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready("contract")
    assert client.get_server_metadata()["name"] == "mlserver"
    meta = client.get_model_metadata("contract")
    advertised = [o["name"] for o in meta["outputs"]]
    assert advertised == ["prediction", "proba_bad", "proba_good"]
    assert [i["name"] for i in meta["inputs"]] == ["age", "income", "city"]

    X = shell.user_ns["X"].head(6)
    inputs = []
    for col, dtype in (("age", "INT64"), ("income", "FP64"), ("city", "BYTES")):
        values = X[col].to_numpy(dtype=object if dtype == "BYTES" else None)
        if dtype == "BYTES":
            values = np.array([v if isinstance(v, str) else "paris" for v in values], dtype=object)
        elif dtype == "FP64":
            values = np.nan_to_num(values.astype(np.float64), nan=50.0)
        inp = tc.InferInput(col, [len(X)], dtype)
        inp.set_data_from_numpy(values, binary_data=False)
        inputs.append(inp)
    result = client.infer(
        "contract", inputs, outputs=[tc.InferRequestedOutput(n, binary_data=False) for n in advertised]
    )
    assert [o["name"] for o in result.get_response()["outputs"]] == advertised  # names as advertised
    labels = result.as_numpy("prediction").reshape(-1)
    proba = np.hstack([result.as_numpy("proba_bad"), result.as_numpy("proba_good")])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    sent = X.assign(income=X.income.fillna(50.0), city=[v if isinstance(v, str) else "paris" for v in X.city])
    local = _local(shell)
    assert [v.decode() if isinstance(v, bytes) else v for v in labels] == list(local.predict(sent))
    np.testing.assert_allclose(proba, local.get_raw_model().predict_proba(sent), rtol=1e-9)


def test_32_concurrent_async_requests_with_batching(served):
    import tritonclient.http.aio as tca

    _, dep, _ = served
    headers = {"Content-Type": "application/json", "Accept-Encoding": "identity"}  # see README, serving

    async def one(client, i):
        inputs = []
        for col, dtype, value in (
            ("age", "INT64", 20 + i),
            ("income", "FP64", 50.0),
            ("city", "BYTES", "lyon"),
        ):
            inp = tca.InferInput(col, [1], dtype)
            inp.set_data_from_numpy(
                np.array([value], dtype=object if dtype == "BYTES" else None), binary_data=False
            )
            inputs.append(inp)
        r = await client.infer("contract", inputs, headers=headers)
        return float(r.as_numpy("proba_bad")[0][0])

    async def all32():
        client = tca.InferenceServerClient(url=dep.url.removeprefix("http://"))
        try:
            return await asyncio.gather(*(one(client, i) for i in range(32)))
        finally:
            await client.close()

    probas = asyncio.run(all32())
    assert len(probas) == 32 and all(0 <= p <= 1 for p in probas)
    assert probas == sorted(probas)  # older applicants, higher risk: each answer is its own request's


MALFORMED = {
    "missing input": ({"inputs": [{"name": "age", "shape": [1], "datatype": "INT64", "data": [30]},
                                  {"name": "income", "shape": [1], "datatype": "FP64", "data": [5.0]}]}, "city"),
    "INT64 sent as text": ({"inputs": [{"name": "age", "shape": [1], "datatype": "INT64", "data": ["30"]}]}, "age"),
    "FP32 with abc": ({"inputs": [{"name": "income", "shape": [1], "datatype": "FP32", "data": ["abc"]}]}, "income"),
    "a float for an integer": ({"inputs": [{"name": "age", "shape": [1], "datatype": "FP64", "data": [30.5]}]}, "age"),
    "shape that does not fit": ({"inputs": [{"name": "age", "shape": [3], "datatype": "INT64", "data": [1, 2]}]}, "age"),
    "ragged columns": ({"inputs": [{"name": "age", "shape": [2], "datatype": "INT64", "data": [1, 2]},
                                   {"name": "income", "shape": [1], "datatype": "FP64", "data": [5.0]},
                                   {"name": "city", "shape": [1], "datatype": "BYTES", "data": ["nice"]}]}, "age"),
    "no inputs": ({"inputs": []}, "expected age"),
    "null in an integer": ({"inputs": [{"name": "age", "shape": [1], "datatype": "INT64", "data": [None]},
                                       {"name": "income", "shape": [1], "datatype": "FP64", "data": [5.0]},
                                       {"name": "city", "shape": [1], "datatype": "BYTES", "data": ["nice"]}]}, "age"),
}  # fmt: skip
GOOD = {"inputs": [{"name": "age", "shape": [2], "datatype": "INT64", "data": [30, 60]},
                   {"name": "income", "shape": [2], "datatype": "FP64", "data": [None, 40.0]},
                   {"name": "city", "shape": [2], "datatype": "BYTES", "data": [None, "nice"]}]}  # fmt: skip


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_request_gets_a_4xx_naming_the_input(served, case):
    _, dep, _ = served
    body, named = MALFORMED[case]
    r = httpx.post(dep.infer_url, json=body, timeout=30)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert named in r.json()["error"]
    ok = httpx.post(dep.infer_url, json=GOOD, timeout=30)  # the server still answers, nulls included
    assert ok.status_code == 200 and [o["name"] for o in ok.json()["outputs"]] == [
        "prediction",
        "proba_bad",
        "proba_good",
    ]


def test_predict_checks_the_frame_and_carries_missing_values(served):
    shell, _dep, _ = served
    X = shell.user_ns["X"].head(12).copy()
    X.loc[X.index[:3], "income"] = np.nan
    X.loc[X.index[3:5], "city"] = None
    shell.user_ns["gappy"] = X
    preds = shell.run_line_magic("deploy", "predict contract gappy")
    assert list(preds.columns) == ["prediction", "proba_bad", "proba_good"] and len(preds) == 12
    local = _local(shell)
    expected = local.get_raw_model().predict_proba(X.assign(city=X.city.where(X.city.notna(), np.nan)))
    np.testing.assert_allclose(preds[["proba_bad", "proba_good"]].to_numpy(), expected, rtol=1e-9)
    logged = deployments.request_log("contract").tail(12)
    assert logged["income"].isna().sum() == X.income.isna().sum() >= 3  # nulls in the log, not "nan" text
    assert logged["city"].isna().sum() == X.city.isna().sum() >= 2 and "nan" not in set(
        logged["city"].dropna()
    )
    for frame, message in ((X.drop(columns=["city"]), "missing 'city'"), (X.assign(extra=1), "extra 'extra'"),
                           (X.assign(age=X.age + 0.5), "'age' must be whole numbers"),
                           (X.assign(income="high"), "'income' must be numbers")):  # fmt: skip
        shell.user_ns["bad"] = frame
        with pytest.raises(UsageError, match=message) as info:
            shell.run_line_magic("deploy", "predict contract bad")
        assert "\n" not in str(info.value)


def test_example_request_and_card_show_the_outputs(served):
    _, dep, _ = served
    body = json.loads((Path(dep.folder) / "example-request.json").read_text())
    r = httpx.post(dep.infer_url, json=body, timeout=30)
    assert r.status_code == 200
    assert "prediction, proba_bad, proba_good" in dep.card().to_text()


def test_outputs_can_be_chosen_at_deploy_time(served):
    shell, _, _ = served
    dep = shell.run_line_magic("deploy", "models:/contract@champion --name labels-only --outputs prediction")
    try:
        meta = httpx.get(f"{dep.url}/v2/models/labels-only", timeout=10).json()
        assert [o["name"] for o in meta["outputs"]] == ["prediction"] == dep.outputs
    finally:
        shell.run_line_magic("deploy", "stop labels-only")
    with pytest.raises(UsageError, match="choose from prediction, proba"):
        shell.run_line_magic("deploy", "models:/contract@champion --name x --outputs score")


# -- lifetimes -------------------------------------------------------------------------------------------
OWNER = """
import sys, time
from mlops_magics import serving
dep = serving.deploy("models:/contract@champion", sys.argv[1], detach=sys.argv[2] == "detach", log=lambda *a: None)
print(dep.pid, flush=True)
if sys.argv[2] != "detach":
    time.sleep(600)
"""


def _owner(home, name, mode="owned"):
    env = {**os.environ, "MLOPS_HOME": str(home)}
    return subprocess.Popen([sys.executable, "-c", OWNER, name, mode], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def _server_pid(proc) -> int:
    line = proc.stdout.readline()
    assert line.strip().isdigit(), proc.stderr.read()[-3000:]
    return int(line)


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_server_dies_with_its_owner(served, sig):
    shell, _, home = served
    name = f"owned-{sig.name.lower()}"
    proc = _owner(home, name)
    try:
        pid = _server_pid(proc)
        assert psutil.pid_exists(pid)
        proc.send_signal(sig)
        proc.wait(30)
        assert _gone_within(pid, 10), f"MLServer {pid} outlived its owner ({sig.name})"
        left = [
            p
            for p in psutil.process_iter(["cmdline"])
            if str(home / "deployments" / name) in " ".join(p.info["cmdline"] or [])
        ]
        assert left == []
        status = shell.run_line_magic("deploy", f"status {name}")
        assert status.status == "STOPPED" and "owned it exited" in status.reason
        again = shell.run_line_magic(
            "deploy", f"models:/contract@champion --name {name}"
        )  # the name is free again
        assert again.status == "READY"
    finally:
        proc.kill()
        shell.run_line_magic("deploy", f"stop {name}")


def test_ctrl_c_during_deploy_leaves_nothing(served):
    _, _, home = served
    proc = _owner(home, "interrupted")
    record = home / "deployments" / "interrupted" / "deployment.json"
    deadline = time.monotonic() + 120
    while (
        not (record.is_file() and json.loads(record.read_text()).get("pid")) and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    pid = json.loads(record.read_text())["pid"]
    proc.send_signal(signal.SIGINT)  # while the server starts and the model loads
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    assert _gone_within(pid, 10) and not record.exists()


def test_detach_outlives_its_owner_and_stops_from_elsewhere(served):
    from click.testing import CliRunner

    from mlops_magics.cli import main

    _shell, _, home = served
    proc = _owner(home, "detached", "detach")
    pid = _server_pid(proc)
    assert proc.wait(60) == 0  # its owner is gone...
    try:
        dep = deployments.get("detached")
        assert dep.status == "READY" and dep.detached and psutil.pid_exists(pid)  # ...the server is not
        assert httpx.post(dep.infer_url, json=GOOD, timeout=30).status_code == 200
        listed = CliRunner().invoke(main, ["--home", str(home), "deployments"], catch_exceptions=False)
        assert "detached" in listed.output and "READY" in listed.output
    finally:
        stopped = CliRunner().invoke(
            main, ["--home", str(home), "deployments", "stop", "detached"], catch_exceptions=False
        )
    assert stopped.exit_code == 0 and _gone_within(pid, 15)
    assert deployments.get("detached").status == "STOPPED"


def test_a_crash_is_dead_with_its_reason_and_the_name_can_be_reused(served):
    shell, _, _ = served
    dep = shell.run_line_magic("deploy", "models:/contract@champion --name crash")
    os.kill(dep.pid, signal.SIGKILL)
    assert _gone_within(dep.pid, 10)
    status = shell.run_line_magic("deploy", "status crash")
    assert status.status == "DEAD" and "exited unasked" in status.reason
    again = shell.run_line_magic("deploy", "models:/contract@champion --name crash")
    assert again.status == "READY"
    shell.run_line_magic("deploy", "stop crash")


def test_a_model_that_cannot_load_says_why(served):
    import mlflow

    shell, _, home = served
    run = shell.run_line_magic("track", "show contract")
    copy = Path(mlflow.artifacts.download_artifacts(run.model_uri, dst_path=str(home.parent / "copy")))
    model_dir = next(copy.rglob("MLmodel")).parent
    (model_dir / "model.skops").write_bytes(b"not a zip file")  # a truncated / corrupt model file
    from mlops_magics import tracking

    run_id = tracking.start_run("broken")
    mlflow.log_artifacts(str(model_dir), "broken_model")
    tracking.end_run(run_id)
    with pytest.raises(ServerError) as info:
        shell.run_line_magic("deploy", f"runs:/{run_id}/broken_model --name broken")
    headline = str(info.value)
    assert "\n" not in headline and "exited with code" not in headline and "BadZipFile" in headline
    assert not deployments.record_path("broken").exists()
