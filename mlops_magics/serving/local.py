"""A model served by MLServer on this machine: deploy, predict, list, status, logs, stop.

``deploy`` downloads the MLflow model into ``deployments/NAME/model``, writes MLServer's
``settings.json`` and ``model-settings.json`` (the MLflow runtime wrapped to log requests, adaptive
batching on), starts ``mlserver start`` from the serving environment, and returns only when the
model's own ready endpoint answers and a smoke inference with the model's input example succeeds
(MLServer's server readiness can be true with no model loaded, MLServer #2056). Otherwise the
server is stopped and the error carries its log tail.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

from .. import procs, schema, servers
from ..config import get_config
from ..display import Outcome
from ..errors import ServerError, UserInputError
from ..workspace import current
from . import v2
from .env import ensure_env, requirements_of
from .manifests import check_k8s_name
from .models import resolve_model
from .results import Deployment, DeploymentsTable, LogTail
from .target import Target

RUNTIME = "mlops_magics_runtime.LoggingMLflowRuntime"


class LocalTarget(Target):
    name = "local"
    description = "an MLServer endpoint on this machine (V2 protocol)"
    options = ("port", "host", "batching", "timeout", "max_batch_size", "max_batch_time", "log_requests")

    def deploy(self, model_uri: str, name: str, *, config=None, log=print, **options) -> Deployment:
        return deploy(model_uri, name, config=config, log=log, **options)


def _record_path(name: str, config=None) -> Path:
    return current(config).deployment_dir(name) / "deployment.json"


def _example(model_dir: Path):
    import pandas as pd

    path = model_dir / "input_example.json"
    if not path.is_file():
        return None
    spec = json.loads(path.read_text())
    if isinstance(spec, dict) and "columns" in spec:
        return pd.DataFrame(spec["data"], columns=spec["columns"])
    return None


def deploy(model_uri: str, name: str, port: int | None = None, host: str | None = None, batching: bool = True,
           max_batch_size: int = 32, max_batch_time: float = 0.01, timeout: float = 180, log=print,
           log_requests: bool = True, config=None) -> Deployment:  # fmt: skip
    import mlflow

    config = config or get_config()
    check_k8s_name(name)
    servers.check_port(port)
    if not timeout > 0:
        raise UserInputError(
            f"--timeout {timeout:g}: give the seconds to wait for the model, e.g. --timeout 180"
        )
    if not 1 <= max_batch_size <= 10_000 or not 0 < max_batch_time <= 60:
        raise UserInputError("adaptive batching takes 1 to 10000 requests and a window of up to 60 s")
    host = host or config.serving_host
    if host not in ("127.0.0.1", "localhost", "::1"):
        log(f"warning: the server binds {host}: it is reachable from other machines")
    if servers.get(_server_name(name)):
        raise UserInputError(f"deployment {name!r} is already running; stop it with %deploy stop {name}")
    try:
        other = get(name, config)
    except UserInputError:
        other = None
    if other is not None and other.status in ("READY", "STARTING"):
        raise UserInputError(
            f"deployment {name!r} is served by another process (pid {other.pid}) at {other.url}; "
            f"stop it with %deploy stop {name}, or give this one another --name"
        )
    model = resolve_model(model_uri, config)
    folder = current(config).ensure().deployment_dir(name)
    shutil.rmtree(folder / "model", ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    mlflow.artifacts.download_artifacts(artifact_uri=model.download_uri, dst_path=str(folder / "model"))
    env = ensure_env(requirements_of(folder / "model"), log=log)
    port = port or servers.free_port(host)
    request_log = folder / "requests.jsonl"
    shutil.copy(Path(__file__).with_name("mlserver_runtime.py"), folder / "mlops_magics_runtime.py")
    settings = {"debug": False, "host": host, "http_port": port, "grpc_port": servers.free_port(host),
                "metrics_port": servers.free_port(host), "parallel_workers": 0, "load_models_at_startup": True}  # fmt: skip
    extra = {"request_log": str(request_log)} if log_requests else {}
    model_settings = {
        "name": name,
        "implementation": RUNTIME,
        "parameters": {"uri": "./model", "extra": extra},
    }
    if batching:
        model_settings.update(max_batch_size=max_batch_size, max_batch_time=max_batch_time)
    (folder / "settings.json").write_text(json.dumps(settings, indent=2))
    (folder / "model-settings.json").write_text(json.dumps(model_settings, indent=2))
    example = _example(folder / "model")
    if example is not None:  # a real request to copy: curl ... -d @example-request.json
        (folder / "example-request.json").write_text(json.dumps(v2.encode(example.head(1))))
    log_path = folder / "server.log"

    def ready(server) -> bool:
        import httpx

        if not servers.http_ok(f"{server.url}/v2/models/{name}/ready"):
            return False
        if example is None:
            return True
        r = httpx.post(f"{server.url}/v2/models/{name}/infer", json=v2.encode(example), timeout=30)
        if r.status_code != 200:
            raise ServerError(f"smoke inference on {name}", f"HTTP {r.status_code}: {r.text[:300]}",
                              servers.log_tail(log_path))  # fmt: skip
        return True

    logged_before = request_log.stat().st_size if request_log.is_file() else 0
    server = servers.start(
        _server_name(name), [str(env / "bin" / "mlserver"), "start", str(folder)], host=host, port=port,
        log_path=log_path, ready=ready, timeout=timeout, cwd=folder,
        env={"PATH": f"{env / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"},
    )  # fmt: skip
    # the smoke inference is not traffic: nobody else knew the port yet, so drop what it logged (the
    # server appends with O_APPEND, so its next write lands at the new end)
    if request_log.is_file():
        os.truncate(request_log, logged_before)
    dep = Deployment(
        name=name, model_uri=model_uri, run_id=model.run_id, url=server.url, host=host, port=port, pid=server.pid,
        pid_started=procs.start_time(server.pid), folder=str(folder), log=str(log_path),
        request_log=str(request_log), created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        extra={"batching": batching, "max_batch_size": max_batch_size, "max_batch_time": max_batch_time},
    )  # fmt: skip
    _record_path(name, config).write_text(json.dumps(dep.to_record(), indent=2))
    if model.run_id:  # lineage: run -> deployment, readable in MLflow without this package
        from ..tracking.store import client

        for key, value in schema.deployment_tag(name, dep.infer_url, model_uri, dep.created).items():
            client(config).set_tag(model.run_id, key, value)
    return dep


def _server_name(name: str) -> str:
    return f"mlserver-{name}"


def get(name: str, config=None) -> Deployment:
    path = _record_path(name, config)
    if not path.is_file():
        known = ", ".join(d.name for d in list_deployments(config).deployments) or "none"
        raise UserInputError(f"no deployment {name!r}; deployments: {known}")
    dep = Deployment(**json.loads(path.read_text()))
    dep.status = _status(dep)
    return dep


def _status(dep: Deployment) -> str:
    servers.running()  # reaps servers of this kernel that exited
    if not procs.alive(dep.pid, dep.pid_started):
        return "STOPPED" if dep.status == "STOPPED" else "DEAD"
    return "READY" if servers.http_ok(f"{dep.url}/v2/models/{dep.name}/ready", timeout=2) else "STARTING"


def list_deployments(config=None) -> DeploymentsTable:
    out = []
    for path in sorted(current(config).deployments_dir.glob("*/deployment.json")):
        dep = Deployment(**json.loads(path.read_text()))
        dep.status = _status(dep)
        out.append(dep)
    return DeploymentsTable(out)


def predict(name: str, df, timeout: float = 60, config=None):
    """Send a DataFrame through the deployment's V2 endpoint; the predictions as a DataFrame."""
    import httpx
    import pandas as pd

    if not isinstance(df, pd.DataFrame) or df.empty:
        raise UserInputError("%deploy predict needs a non-empty DataFrame of the model's input columns")
    dep = get(name, config)
    if dep.status != "READY":
        raise UserInputError(
            f"deployment {name!r} is {dep.status}; start it again with %deploy {dep.model_uri} --name {name}"
        )
    try:
        r = httpx.post(dep.infer_url, json=v2.encode(df), timeout=timeout)
    except httpx.HTTPError as exc:
        raise ServerError(f"POST {dep.infer_url}", exc, servers.log_tail(Path(dep.log))) from exc
    if r.status_code != 200:
        raise ServerError(
            f"POST {dep.infer_url}", f"HTTP {r.status_code}: {r.text[:500]}", servers.log_tail(Path(dep.log))
        )
    return v2.decode(r.json())


def logs(name: str, lines: int = 40, config=None) -> LogTail:
    """The last ``lines`` lines of the deployment's server log."""
    if not 1 <= lines <= 100_000:
        raise UserInputError(f"--lines {lines}: give a number of lines from 1 to 100000")
    dep = get(name, config)
    return LogTail(name, dep.log, servers.log_tail(Path(dep.log), lines))


def stop(name: str, config=None) -> Deployment:
    """Stop a deployment's server (one this kernel started, or another kernel's on this host)."""
    dep = get(name, config)
    if not servers.stop(_server_name(name)) and dep.status in ("READY", "STARTING"):
        procs.terminate_tree(dep.pid, grace=10)
    dep.status = "STOPPED"
    _record_path(name, config).write_text(json.dumps(dep.to_record(), indent=2))
    return dep


def stop_all(config=None) -> Outcome:
    """Stop every running deployment of the workspace."""
    names = [stop(d.name, config).name for d in list_deployments(config).deployments
             if d.status in ("READY", "STARTING")]  # fmt: skip
    return Outcome("stopped", names, "deployments")


def request_log(name: str, config=None):
    """The requests and predictions the server logged, one row per request row, with a timestamp."""
    import pandas as pd

    path = Path(get(name, config).request_log)
    frames = []
    if path.is_file():
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            inputs = pd.DataFrame(rec["inputs"])
            outputs = pd.DataFrame({f"prediction_{k}" if len(rec["outputs"]) > 1 else "prediction": v
                                    for k, v in rec["outputs"].items()})  # fmt: skip
            frame = pd.concat([inputs, outputs], axis=1)
            frame.insert(0, "timestamp", pd.to_datetime(rec["ts"], unit="s", utc=True))
            frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
