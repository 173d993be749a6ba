"""A model served by MLServer on this machine (the ``local`` deploy target).

``deploy`` downloads the MLflow model into ``deployments/NAME/model``, writes MLServer's
``settings.json`` and ``model-settings.json`` (the runtime in ``mlserver_runtime.py``: per-request
checks, named outputs, request log, owner watchdog; adaptive batching on), starts the server from the
serving environment, loads the model through MLServer's repository API (so a model that cannot load
says why, instead of a server that quietly exits), and returns only when a smoke inference with the
model's input example succeeds. Whatever fails or is interrupted on the way is stopped and leaves no
record. The server dies with this process (SIGKILL included) unless ``detach=True``.

Records, statuses, ``stop`` and the request log: ``deployments.py``; ``predict``: ``client.py``.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

from .. import procs, schema, servers
from ..config import get_config
from ..errors import ServerError, UserInputError
from ..workspace import current
from . import v2
from .client import predict
from .deployments import forget, get, list_deployments, logs, request_log, server_name, stop, stop_all, write
from .env import ensure_env, lookup_requirements, requirements_of
from .manifests import check_k8s_name
from .models import model_inputs, resolve_model
from .results import Deployment
from .target import Target

__all__ = [
    "LocalTarget",
    "deploy",
    "get",
    "list_deployments",
    "logs",
    "predict",
    "request_log",
    "stop",
    "stop_all",
]
RUNTIME = "mlops_magics_runtime.LoggingMLflowRuntime"
ENTITY_RUNTIME = "mlops_magics_entity.EntityMLflowRuntime"
OUTPUTS = ("prediction", "proba")


class LocalTarget(Target):
    name = "local"
    description = "an MLServer endpoint on this machine (V2 protocol)"
    options = ("port", "host", "batching", "timeout", "max_batch_size", "max_batch_time", "log_requests", "outputs",
               "detach", "entity", "features", "missing")  # fmt: skip

    def deploy(self, model_uri: str, name: str, *, config=None, log=print, **options) -> Deployment:
        return deploy(model_uri, name, config=config, log=log, **options)


def _example(model_dir: Path):
    import pandas as pd

    path = model_dir / "input_example.json"
    if not path.is_file():
        return None
    spec = json.loads(path.read_text())
    if isinstance(spec, dict) and "columns" in spec:
        return pd.DataFrame(spec["data"], columns=spec["columns"])
    return None


def _entity_example(lookup, config=None):
    """One id the store holds (the first of the first view's data), for the smoke inference."""
    import pandas as pd

    from ..features import get_view
    from ..features.repo import version_data

    view = get_view(lookup.views[0]["view"], config)
    path = version_data(view.name, schema.view_fingerprint(view.tags), config, fetch=True)
    ids = pd.read_parquet(path, columns=[lookup.entity])[lookup.entity].head(1)
    return ids.to_frame()


def _outputs(outputs) -> list[str]:
    wanted = [o.strip() for o in outputs.split(",")] if isinstance(outputs, str) else list(outputs or OUTPUTS)
    bad = [o for o in wanted if o not in OUTPUTS]
    if bad or not wanted:
        raise UserInputError(
            f"--outputs {','.join(wanted)}: choose from prediction, proba, e.g. --outputs prediction,proba"
        )
    return wanted


def deploy(model_uri: str, name: str, port: int | None = None, host: str | None = None, batching: bool = True,
           max_batch_size: int = 32, max_batch_time: float = 0.02, timeout: float = 180, log=print,
           log_requests: bool = True, outputs=None, detach: bool = False, entity: str | None = None,
           features: list[str] | None = None, missing: str = "error", config=None) -> Deployment:  # fmt: skip
    """Serve ``model_uri`` as ``name`` with MLServer on this machine; see the module's docstring.

    ``entity``: the endpoint takes this entity key instead of the features and reads them from the online
    store (serving/entity.py); ``features`` (``VIEW:f1,f2``) overrides the run's lineage; ``missing``:
    ``error`` (404 for unknown ids) or ``null``."""
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
    wanted = _outputs(outputs)
    host = host or config.serving_host
    if host not in ("127.0.0.1", "localhost", "::1"):
        log(f"warning: the server binds {host}: it is reachable from other machines")
    if servers.get(server_name(name)):
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
    (folder / "stopped.json").unlink(missing_ok=True)
    download = folder / ".download"
    shutil.rmtree(download, ignore_errors=True)
    with _no_progress():  # runs:/ID/PATH lands in a PATH subfolder, a logged model's URI at the top
        got = mlflow.artifacts.download_artifacts(artifact_uri=model.download_uri, dst_path=str(download))
    os.replace(got, folder / "model")
    shutil.rmtree(download, ignore_errors=True)
    if not (folder / "model" / "MLmodel").is_file():
        raise UserInputError(
            f"{model_uri} holds no MLflow model (no MLmodel file); log one with %%track ... --model VAR"
        )
    inputs, requirements, lookup = (
        model_inputs(str(folder / "model"), config),
        requirements_of(folder / "model"),
        None,
    )
    if entity:
        from .entity import plan

        lookup = plan(model.run_id, inputs, entity, features, missing, config)
        requirements = sorted(
            {*requirements, *lookup_requirements(config.online_store, remote=bool(config.server))}
        )
    elif features:
        raise UserInputError("--features goes with --entity: it names what the endpoint looks up for each id")
    env = ensure_env(requirements, log=log)
    chosen, port = port, port or servers.free_port(host)
    request_log_path = folder / "requests.jsonl"
    runtime = folder / "mlops_magics_runtime.py"
    shutil.copy(Path(__file__).with_name("mlserver_runtime.py"), runtime)
    shutil.copy(Path(__file__).with_name("mlserver_entity.py"), folder / "mlops_magics_entity.py")
    settings = {"debug": False, "host": host, "http_port": port, "grpc_port": servers.free_port(host),
                "metrics_port": servers.free_port(host), "parallel_workers": 0, "load_models_at_startup": False}  # fmt: skip
    extra = {"outputs": wanted, **({"request_log": str(request_log_path)} if log_requests else {})}
    if lookup is not None:
        extra["lookup"] = lookup.settings()
    model_settings = {"name": name, "implementation": ENTITY_RUNTIME if lookup else RUNTIME,
                      "parameters": {"uri": "./model", "extra": extra}}  # fmt: skip
    if batching:
        model_settings.update(max_batch_size=max_batch_size, max_batch_time=max_batch_time)
    (folder / "settings.json").write_text(json.dumps(settings, indent=2))
    (folder / "model-settings.json").write_text(json.dumps(model_settings, indent=2))
    example = _example(folder / "model") if lookup is None else _entity_example(lookup, config)
    if example is not None:  # a real request to copy: curl ... -d @example-request.json
        (folder / "example-request.json").write_text(json.dumps(v2.encode(example.head(1))))
    log_path = folder / "server.log"
    dep = Deployment(
        name=name, model_uri=model_uri, run_id=model.run_id, url="", host=host, port=port, pid=0, pid_started=0.0,
        folder=str(folder), log=str(log_path), request_log=str(request_log_path), status="STARTING",
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"), owner_pid=os.getpid(),
        owner_started=procs.start_time(os.getpid()), detached=detach,
        inputs=inputs if lookup is None else [{"name": lookup.entity, "type": lookup.entity_type, "required": True}],
        extra={"batching": batching, "max_batch_size": max_batch_size, "max_batch_time": max_batch_time},
    )  # fmt: skip
    if lookup is not None:
        dep.extra["lookup"] = lookup.to_record()

    def started(server) -> None:  # %deploy list sees it from now on
        dep.url, dep.pid, dep.pid_started = server.url, server.pid, procs.start_time(server.pid)
        write(dep, config)

    logged_before = request_log_path.stat().st_size if request_log_path.is_file() else 0

    def ready(server) -> bool:  # MLServer answers HTTP before its gRPC and metrics servers have bound
        ports = (settings["grpc_port"], settings["metrics_port"])
        return servers.http_ok(f"{server.url}/v2/health/live") and procs.listens(server.pid, ports)

    try:
        for attempt in range(3):
            try:
                server = servers.start(
                    server_name(name), [str(env / "bin" / "python"), str(runtime), "start", str(folder)], host=host,
                    port=dep.port, log_path=log_path, ready=ready,
                    timeout=timeout, cwd=folder, env={"PATH": f"{env / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"},
                    detach=detach, owner_pipe=True, on_start=started,
                )  # fmt: skip
                break
            except ServerError as exc:
                # a free port is chosen before the server binds it: another process (or an outgoing
                # connection, from the same ephemeral range) may take it first; ports we chose are chosen again
                taken = ("already in use", "Failed to bind")  # our own check, uvicorn's and gRPC's words
                if (
                    not any(t in str(exc) for t in taken)
                    or attempt == 2
                    or (chosen and str(chosen) in str(exc))
                ):
                    raise
                settings.update(grpc_port=servers.free_port(host), metrics_port=servers.free_port(host),
                                http_port=chosen or servers.free_port(host))  # fmt: skip
                dep.port = settings["http_port"]
                (folder / "settings.json").write_text(json.dumps(settings, indent=2))
        try:
            dep.outputs = _load(dep, timeout)
            _smoke(dep, example)
        except BaseException:
            if detach:  # servers.start let it go: stop it by pid
                procs.terminate_tree(dep.pid, grace=10)
            else:
                servers.stop(server_name(name))
            raise
    except BaseException:  # failed or interrupted (Ctrl-C): nothing runs, no record is left
        forget(name, config)
        raise
    # the smoke inference is not traffic: drop what it logged (the server appends with O_APPEND)
    if request_log_path.is_file():
        os.truncate(request_log_path, logged_before)
    dep.status, dep.url, dep.pid = "READY", server.url, server.pid
    write(dep, config)
    if model.run_id:  # lineage: run -> deployment, readable in MLflow without this package
        from ..tracking.store import client

        for key, value in schema.deployment_tag(name, dep.infer_url, model_uri, dep.created).items():
            client(config).set_tag(model.run_id, key, value)
    return dep


def _load(dep: Deployment, timeout: float) -> list[str]:
    """Load the model through MLServer's repository API; its output names, or why it did not load."""
    import httpx

    r = httpx.post(f"{dep.url}/v2/repository/models/{dep.name}/load", timeout=timeout)
    if r.status_code != 200:
        try:
            reason = r.json().get("error", r.text)
        except ValueError:
            reason = servers.first_error(Path(dep.log)) or r.text[:300]
        raise ServerError(f"load model {dep.name}", reason, servers.log_tail(Path(dep.log)))
    meta = httpx.get(f"{dep.url}/v2/models/{dep.name}", timeout=30).json()
    return [o["name"] for o in meta.get("outputs", [])]


def _smoke(dep: Deployment, example) -> None:
    import httpx

    if example is None:
        return
    r = httpx.post(dep.infer_url, json=v2.encode(example), timeout=60)
    if r.status_code != 200:
        raise ServerError(f"smoke inference on {dep.name}", f"HTTP {r.status_code}: {r.text[:300]}",
                          servers.log_tail(Path(dep.log)))  # fmt: skip


def _no_progress():
    """MLflow's download bar ("Downloading artifacts: 100% 7/7") would sit above the card."""
    from ..config import environ

    return environ(MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="false")
