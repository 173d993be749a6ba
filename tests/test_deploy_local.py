"""%deploy with real MLServer processes: deploy, predict, request log, failures, no orphan process."""

import ipaddress
import json
import os
import signal
import socket
from pathlib import Path

import httpx
import numpy as np
import psutil
import pytest
from IPython.core.error import UsageError

from mlops_magics.errors import ServerError, UserInputError
from mlops_magics.serving import deployments, local, v2


def loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)  # gRPC listens on ::ffff:127.0.0.1
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


def descendants() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def gone(pid: int) -> bool:
    return not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


@pytest.fixture
def no_orphans():
    before = descendants()
    yield
    local.stop_all()
    left = [p for p in descendants() - before if not gone(p)]
    assert not left, f"processes left behind: {left}"


def test_deploy_alias_predict_log_stop(registered, no_orphans):
    ip = registered
    ip.run_line_magic("deploy", "models:/credit-risk@champion --name credit-risk -o dep")
    dep = ip.user_ns["dep"]
    assert dep.status == "READY" and dep.host == "127.0.0.1"
    server = psutil.Process(dep.pid)
    listening = {c.laddr.ip for p in [server, *server.children(recursive=True)]
                 for c in p.net_connections("inet") if c.status == psutil.CONN_LISTEN}  # fmt: skip
    assert listening and all(loopback(a) for a in listening), listening

    X, model = ip.user_ns["X"], ip.user_ns["model"]
    ip.run_line_magic("deploy", "predict credit-risk X -o preds")
    np.testing.assert_array_equal(ip.user_ns["preds"].iloc[:, 0].to_numpy(), model.predict(X))

    # any client's requests are logged by the server itself
    r = httpx.post(dep.infer_url, json=v2.encode(X.head(3)), timeout=30)
    assert r.status_code == 200
    logged = local.request_log("credit-risk")
    assert len(logged) == len(X) + 3  # %deploy predict and the plain client; not the readiness smoke test
    assert list(logged.columns[:5]) == ["timestamp", "a", "b", "c", "d"]
    np.testing.assert_array_equal(logged["prediction"].tail(3).to_numpy(), model.predict(X.head(3)))

    assert [(d.name, d.status) for d in ip.run_line_magic("deploy", "list").deployments] == [
        ("credit-risk", "READY")
    ]
    run = ip.run_line_magic("track", "show last")
    assert json.loads(run.tags["mlops_magics.deployment.credit-risk"])["url"] == dep.infer_url
    assert "curl -s -X POST" in dep.card().to_text()
    with open(os.path.join(dep.folder, "example-request.json")) as f:
        body = json.load(f)
    assert (
        httpx.post(dep.infer_url, json=body, timeout=30).status_code == 200
    )  # the card's curl request works

    ip.run_line_magic("deploy", "stop credit-risk")
    assert gone(dep.pid)
    assert ip.run_line_magic("deploy", "status credit-risk").status == "STOPPED"


def test_deploy_run_uri_and_namespace_model(training_data, no_orphans):
    ip = training_data
    ip.run_cell_magic("track", "r --model model -o run",
                      "from sklearn.tree import DecisionTreeClassifier\nmodel = DecisionTreeClassifier(max_depth=3).fit(X, y)")  # fmt: skip
    ip.run_line_magic("deploy", f"runs:/{ip.user_ns['run'].run_id}/model --name trial")
    ip.user_ns["other"] = ip.user_ns["model"].__class__(max_depth=2).fit(ip.user_ns["X"], ip.user_ns["y"])
    ip.run_line_magic("deploy", "other --name quick --input X -o quick")
    X = ip.user_ns["X"]
    for name, est in (("trial", ip.user_ns["model"]), ("quick", ip.user_ns["other"])):
        preds = local.predict(name, X)
        np.testing.assert_array_equal(preds.iloc[:, 0].to_numpy(), est.predict(X))
    assert ip.user_ns["quick"].run_id  # the namespace model was logged in a run first (lineage)
    ip.run_line_magic("deploy", "stop --all")
    assert {d.status for d in local.list_deployments().deployments} == {"STOPPED"}


def test_model_that_fails_to_load_is_stopped_with_its_reason(ip, no_orphans):
    import mlflow.pyfunc

    from mlops_magics import tracking

    class Broken(mlflow.pyfunc.PythonModel):
        def load_context(self, context):
            raise RuntimeError("weights file is corrupt")

        def predict(self, context, model_input, params=None):
            return model_input

    run_id = tracking.start_run("broken")
    info = mlflow.pyfunc.log_model(name="model", python_model=Broken(), pip_requirements=["mlflow==3.17.2"])
    tracking.end_run(run_id)
    with pytest.raises(ServerError) as err:
        ip.run_line_magic("deploy", f"{info.model_uri} --name broken --timeout 60")
    assert "RuntimeError: weights file is corrupt" in str(err.value)
    assert "\n" not in str(err.value)
    assert "last lines of the server log" in "\n".join(err.value._render_traceback_())


def test_port_in_use_and_timeout(registered, no_orphans):
    ip = registered
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(ServerError, match=f"port {port} on 127.0.0.1 is already in use"):
            ip.run_line_magic("deploy", f"models:/credit-risk@champion --name busy --port {port}")
    with pytest.raises(ServerError, match="not ready within 1 s"):
        ip.run_line_magic("deploy", "models:/credit-risk@champion --name slow --timeout 1")


@pytest.mark.parametrize("which", [0, 1], ids=["http-port", "grpc-port"])
def test_a_port_taken_between_choice_and_bind_is_chosen_again(registered, no_orphans, monkeypatch, which):
    """A free port is chosen before MLServer binds it; another process may take it in between (seen
    when two test workers deployed at once: MLServer exited with 'address already in use'). The
    deployment starts on freshly chosen ports instead."""
    from mlops_magics import servers

    ip = registered
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        taken = s.getsockname()[1]
        real, handed = servers.free_port, []

        def racing(host="127.0.0.1"):  # the first choice is taken by the time the server binds it
            handed.append(taken if len(handed) == which else real(host))
            return handed[-1]

        monkeypatch.setattr(servers, "free_port", racing)
        dep = ip.run_line_magic("deploy", "models:/credit-risk@champion --name raced")
    try:
        assert dep.port != taken and len(handed) >= 4  # three ports chosen, then chosen again
        assert json.loads((Path(dep.folder) / "settings.json").read_text())["http_port"] == dep.port
        assert ip.run_line_magic("deploy", "status raced").status == "READY"
    finally:
        local.stop("raced")


def test_dead_server_is_reported_and_unload_stops_servers(registered, no_orphans):
    ip = registered
    ip.run_line_magic("deploy", "models:/credit-risk@champion --name a -o a")
    os.kill(ip.user_ns["a"].pid, signal.SIGKILL)
    psutil.Process(ip.user_ns["a"].pid).wait(10) if not gone(ip.user_ns["a"].pid) else None
    assert ip.run_line_magic("deploy", "status a").status == "DEAD"
    with pytest.raises(UsageError, match="deployment 'a' is DEAD"):
        ip.run_line_magic("deploy", "predict a X")
    ip.run_line_magic("deploy", "models:/credit-risk@champion --name b -o b")
    pid = ip.user_ns["b"].pid
    ip.run_line_magic("unload_ext", "mlops_magics")
    try:
        assert gone(pid)
    finally:
        ip.run_line_magic("load_ext", "mlops_magics")


@pytest.mark.parametrize(
    "line, message",
    [
        ("predict nobody X", "no deployment 'nobody'"),
        ("predict x nothing", "predict x nothing: no such variable in the notebook"),
        ("stop", "takes a deployment name or --all"),
        ("status", "the following arguments are required: name"),
        ("not_a_var --name q", "neither a model URI"),
        ("models:/credit-risk@champion --name q --storage-uri s3://b/c", "is for --target seldon or kserve"),
    ],
)
def test_bad_input(training_data, line, message):
    ip = training_data
    with pytest.raises(UsageError, match=message) as info:
        ip.run_line_magic("deploy", line)
    assert type(info.value) is UsageError and "\n" not in str(info.value)


EXITING_KERNEL = """
import sys
from IPython.core.interactiveshell import InteractiveShell
sh = InteractiveShell.instance()
sh.run_line_magic("load_ext", "mlops_magics")
sh.run_line_magic("deploy", "models:/credit-risk@champion --name exiting -o d")
print(sh.user_ns["d"].pid, flush=True)
sys.stdin.readline()
"""  # then the interpreter exits normally: atexit must stop the server


def test_another_kernels_deployment_is_refused_and_its_exit_stops_it(registered, tmp_path):
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", EXITING_KERNEL], cwd=tmp_path, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        lines = iter(proc.stdout.readline, "")
        line = next((ln for ln in lines if ln.strip().isdigit()), "")  # the server's pid, after the card
        assert line, proc.stderr.read()[-2000:]
        pid = int(line)
        # the same name from this kernel would take over the other kernel's record: refused, nothing touched
        record = deployments.record_path("exiting").read_text()
        with pytest.raises(
            UserInputError, match=f"deployment 'exiting' is served by another process \\(pid {pid}\\)"
        ):
            local.deploy("models:/credit-risk@champion", "exiting", log=lambda *_: None)
        assert (
            deployments.record_path("exiting").read_text() == record
            and local.get("exiting").status == "READY"
        )
    finally:
        proc.communicate("\n", timeout=120)
    assert proc.returncode == 0
    assert gone(pid)
    stopped = local.get("exiting")  # a normal exit is not a crash: STOPPED, with the reason
    assert stopped.status == "STOPPED" and stopped.reason == "its kernel shut down"


def test_exposing_a_server_warns(ip, capsys):
    with pytest.raises(UsageError, match="not found"):  # stops after the warning: the model does not exist
        ip.run_line_magic("deploy", "models:/nothing@here --name exposed --host 0.0.0.0")
    assert "warning: the server binds 0.0.0.0: it is reachable from other machines" in capsys.readouterr().out


def test_prepare_serving_builds_the_env_a_tracked_sklearn_model_deploys_with(registered):
    """Binder's postBuild runs `mlops-magics prepare-serving`: the env it builds must be the one
    `%deploy` picks for a model `%%track --model` logged, or the first deploy there still builds."""
    import mlflow
    from click.testing import CliRunner

    from mlops_magics.cli import main
    from mlops_magics.serving.env import env_key, requirements_of
    from mlops_magics.tracking import client

    result = CliRunner().invoke(main, ["prepare-serving"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    prepared = Path(result.output.strip().splitlines()[-1].split(": ", 1)[1])
    assert (prepared / ".complete").is_file() and (prepared / "bin" / "mlserver").exists()
    client()
    model_dir = Path(mlflow.artifacts.download_artifacts("models:/credit-risk/1"))
    assert env_key(requirements_of(model_dir)) == prepared.name
