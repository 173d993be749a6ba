"""The life cycle of a run: start, log, end — and never left RUNNING.

``tracked`` wraps the execution of a cell: FINISHED when it returns, FAILED when it raises (exception
type and message as tags), KILLED on KeyboardInterrupt; the error still reaches the caller.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable

from .. import schema
from ..errors import BackendError, UserInputError, shown
from . import inputs, pending, sweep
from .context import run_tags
from .results import Comparison, RunResult, RunsTable
from .store import client, experiment_id, experiment_name, param_value, quote, retry_locked, tracking_uri
from .sweep import sqlite_path

SECRET = re.compile(
    r"pass(word|wd|phrase)?|secret|token|api_?key|credential|private_?key|auth(?!or)|session_?key", re.I
)
# per store: the last run this process ended; runs started here, as started
_state = {"last": {}, "started": {}, "steps": {}, "known": set()}


def check_not_secret(name: str, what: str = "param") -> None:
    """Refuse a param or tag whose key looks like a secret: MLflow shows it to everyone who can read runs."""
    if SECRET.search(str(name).replace("-", "_")):
        raise UserInputError(
            f"{what} {name!r} looks like a secret, so it is not logged; keep secrets out of runs "
            "(log a non-secret name instead)"
        )


def check_tags(tags: dict | None) -> None:
    for key in tags or {}:
        check_not_secret(key, "tag")


def start_run(
    name: str | None = None,
    experiment: str | None = None,
    *,
    tags: dict | None = None,
    user_ns: dict | None = None,
    cell: str | None = None,
    features: list[dict] | None = None,
    config=None,
) -> str:
    """Start a run (made the active MLflow run, so autolog and ``mlflow.log_*`` land in it).

    ``features``: the feature-view versions it trains on; default: this kernel's latest retrievals."""
    import mlflow

    check_tags(tags)
    c = client(config)
    sweep.once(c)
    exp_id = experiment_id(experiment, config)
    used = inputs.current(config) if features is None else features
    all_tags = {**run_tags(user_ns, cell), **inputs.tags_for(used), **(tags or {})}
    active = mlflow.active_run()
    try:
        run = retry_locked(mlflow.start_run)(
            run_name=name, experiment_id=exp_id, tags=all_tags, nested=active is not None
        )
    except Exception as exc:
        raise BackendError("mlflow.start_run", exc) from exc
    _state["started"][run.info.run_id] = run
    inputs.log_datasets(run.info.run_id, used, c)
    return run.info.run_id


def end_run(
    run_id: str,
    status: str = "FINISHED",
    error: BaseException | None = None,
    config=None,
    known: RunResult | None = None,
) -> RunResult:
    """End a run; its result is ``known`` (when the caller knows every field) or read back."""
    import mlflow

    c = client(config)
    pending.flush(c.tracking_uri)  # a run ends with every point it logged
    if error is not None:
        for key, value in schema.error_tags(error).items():
            _quietly(c.set_tag, run_id, key, value)
    active = mlflow.active_run()
    if active is not None and active.info.run_id == run_id:
        retry_locked(mlflow.end_run)(status)
    else:
        retry_locked(c.set_terminated)(run_id, status)
    _state["last"][c.tracking_uri] = run_id
    _state["started"].pop(run_id, None)
    if known is not None:
        known.status, known.end_time = status, time.time()
        return known
    return _read_run(c, run_id, config)


def _quietly(fn, *args):
    try:
        retry_locked(fn)(*args)
    except Exception:  # recording the error must never hide the error itself
        pass


def log(
    run_id: str,
    params: dict | None = None,
    metrics: dict | None = None,
    tags: dict | None = None,
    config=None,
    step: int | None = None,
):
    """Log params, metrics and tags in one batch (one transaction on SQLite).

    A metric's ``step`` counts the times this process logged it in the run (0, 1, 2, ...) unless given.
    Metrics alone into a SQLite store go through a journal and are written in batches (``pending``):
    a training loop logs thousands of points a second, and none is lost if the kernel dies."""
    from mlflow.entities import Metric, Param, RunTag

    params, metrics, tags = params or {}, metrics or {}, tags or {}
    for name in params:
        check_not_secret(name)
    check_tags(tags)
    now = int(time.time() * 1000)
    bad = {k: v for k, v in metrics.items() if not _is_number(v)}
    if bad:
        k, v = next(iter(bad.items()))
        raise UserInputError(f"metric {k!r} must be a number, got {type(v).__name__} {str(v)[:40]!r}")
    if step is not None and (not isinstance(step, int) or isinstance(step, bool) or step < 0):
        raise UserInputError(f"step {step!r}: give a whole number from 0, e.g. step=10")
    points = [[k, float(v), now, _step(run_id, k, step)] for k, v in metrics.items()]
    uri = tracking_uri(config)
    db = sqlite_path(uri)
    if points and not params and not tags and db is not None:  # a loop's point: no MLflow call here
        if run_id not in _state["started"] and run_id not in _state["known"]:  # fail now, not in a batch
            try:
                retry_locked(client(config).get_run)(run_id)
            except Exception as exc:
                raise BackendError("mlflow.log_batch", exc) from exc
            _state["known"].add(run_id)
        pending.add(uri, db, run_id, points)
        return
    c = client(config)
    batch = dict(
        metrics=[Metric(*p) for p in points],
        params=[Param(k, param_value(v)) for k, v in params.items()],
        tags=[RunTag(k, str(v)) for k, v in tags.items()],
    )
    try:
        retry_locked(c.log_batch)(run_id, **batch)
    except Exception as exc:
        raise BackendError("mlflow.log_batch", exc) from exc


def _step(run_id: str, key: str, step: int | None) -> int:
    """``step``, else the next step of this metric in this run (from this process's count)."""
    counts = _state["steps"]
    if step is None:
        step = counts.get((run_id, key), -1) + 1
    counts[(run_id, key)] = max(step, counts.get((run_id, key), -1))
    return step


def _is_number(v) -> bool:
    import numbers

    return isinstance(v, numbers.Real) and not isinstance(v, bool)  # numpy scalars register as Real


def values_from(user_ns: dict, names: Iterable[str], what: str) -> dict:
    missing = [n for n in names if n not in user_ns]
    if missing:
        raise UserInputError(f"{what} {', '.join(missing)}: no such variable in the notebook; check the name")
    return {n: user_ns[n] for n in names}


def tracked(
    execute: Callable[[], object],
    *,
    name: str | None = None,
    experiment: str | None = None,
    user_ns: dict,
    cell: str = "",
    params: list[str] = (),
    metrics: list[str] = (),
    model: str | None = None,
    model_input: str | None = None,
    autolog: bool = False,
    tags: dict | None = None,
    features: list[dict] | None = None,
    config=None,
) -> tuple[RunResult, object]:
    """Run ``execute`` inside a run and log what the cell left behind; return (result, cell value)."""
    import mlflow

    for n in params:
        check_not_secret(n)
    run_id = start_run(
        name, experiment, tags=tags, user_ns=user_ns, cell=cell, features=features, config=config
    )
    status, error = "FAILED", None
    try:
        _quietly(mlflow.log_text, cell, "cell.py")
        if autolog:
            mlflow.autolog(log_models=False, silent=True, exclusive=False)
        try:
            value = execute()
        finally:
            if autolog:
                mlflow.autolog(disable=True, silent=True)
        model_uri, model_tags = None, {}
        param_values = values_from(user_ns, params, "--params")
        metric_values = values_from(user_ns, metrics, "--metrics")
        if model:
            from .models import log_model, sample_input

            obj = values_from(user_ns, [model], "--model")[model]
            model_uri = log_model(obj, sample_input(user_ns, cell, model_input))
            model_tags = {schema.MODEL_URI: model_uri}
        log(run_id, param_values, metric_values, model_tags, config=config)  # one write for all of them
        status = "FINISHED"
    except KeyboardInterrupt as exc:
        status, error = "KILLED", exc
        raise
    except BaseException as exc:
        error = exc
        raise
    finally:
        known = None  # the finished run without reading it back (5 ms), unless autolog added to it
        started = _state["started"].get(run_id)
        if status == "FINISHED" and not autolog and started is not None:
            known = RunResult.from_run(started, experiment_name(started.info.experiment_id, config))
            known.params.update({k: param_value(v) for k, v in param_values.items()})
            known.metrics.update({k: float(v) for k, v in metric_values.items()})
            known.tags.update(model_tags)
            known.model_uri = model_uri
        result = end_run(run_id, status, error, config, known=known)
    return result, value


def log_fitted(model, name: str, input_example=None, tags: dict | None = None, config=None) -> RunResult:
    """A fitted model logged in a run of its own (``%deploy VAR`` serves a variable this way)."""
    from .models import log_model

    run_id = start_run(name, tags=tags, config=config)
    try:
        model_uri = log_model(model, input_example)
        log(run_id, tags={schema.MODEL_URI: model_uri}, config=config)
    except BaseException as exc:
        end_run(run_id, "FAILED", exc, config)
        raise
    return end_run(run_id, "FINISHED", config=config)


def last_run(config=None) -> RunResult | None:
    """The run this process ended most recently, if any."""
    c = client(config)
    run_id = _state["last"].get(c.tracking_uri)
    return _read_run(c, run_id, config) if run_id else None


def get_run(run_id: str, config=None) -> RunResult:
    """One run, read after a sweep (a dead kernel's run reads KILLED, not RUNNING)."""
    c = client(config)
    sweep.before_read(c)
    pending.flush(c.tracking_uri)
    return _read_run(c, run_id, config)


def _read_run(c, run_id: str, config=None) -> RunResult:
    try:
        run = c.get_run(run_id)
    except Exception as exc:
        raise UserInputError(
            f"no run {shown(run_id)} in {c.tracking_uri.split('?')[0]}; see %track runs"
        ) from exc
    return RunResult.from_run(run, experiment_name(run.info.experiment_id, config))


def resolve_run(ref: str, config=None) -> RunResult:
    """``last`` (the last run this process ended, else the newest run), a run id, a run name, or a model
    URI (``models:/NAME@ALIAS``, ``models:/NAME/VERSION``, ``runs:/ID/...``): the run that logged it."""
    c = client(config)
    sweep.before_read(c)
    if ref.startswith(("models:/", "runs:/")):
        return _read_run(c, model_run_id(c, ref), config)
    if ref == "last":
        if _state["last"].get(c.tracking_uri):
            return _read_run(c, _state["last"][c.tracking_uri], config)
        runs = search_runs(last=1, config=config).runs
        if not runs:
            raise UserInputError("there is no run yet; run a cell with %%track first")
        return runs[0]
    if re.fullmatch(r"[0-9a-f]{32}", ref):
        return _read_run(c, ref, config)
    exps = [e.experiment_id for e in c.search_experiments()]
    found = c.search_runs(exps, filter_string=f"attributes.run_name = {quote(ref)}", order_by=["start_time DESC"],
                          max_results=1)  # fmt: skip
    if not found:
        raise UserInputError(f"no run with id or name {shown(ref)}; see %track runs")
    return _read_run(c, found[0].info.run_id, config)


def model_run_id(c, uri: str) -> str:
    """The id of the run behind a model URI (``models:/NAME@ALIAS``, ``models:/NAME/VERSION``, ``runs:/ID/PATH``)."""
    if uri.startswith("runs:/"):
        return uri[len("runs:/") :].split("/", 1)[0]
    rest = uri[len("models:/") :]
    name, at, alias = rest.partition("@")
    try:
        if at:
            version = c.get_model_version_by_alias(name, alias)
        elif "/" not in rest:  # an MLflow 3 logged model, models:/m-...
            return c.get_logged_model(rest).source_run_id or ""
        else:
            name, _, number = rest.rpartition("/")
            version = c.get_model_version(name, number)
    except Exception as exc:
        raise UserInputError(f"no registered model version {shown(uri)}; see %track models") from exc
    if not version.run_id:
        raise UserInputError(f"{shown(uri)} was registered from files, not from a run: it has no run")
    return version.run_id


def search_runs(experiment: str | None = None, last: int = 20, config=None) -> RunsTable:
    if not 1 <= last <= 50_000:
        raise UserInputError(f"--last {last}: show between 1 and 50000 runs, e.g. --last 20")
    c = client(config)
    sweep.before_read(c)
    pending.flush(c.tracking_uri)
    if experiment:
        exp = c.get_experiment_by_name(experiment)
        if exp is None:
            raise UserInputError(
                f"no experiment {shown(experiment)}; see %track runs for the ones that exist"
            )
        exps = [exp.experiment_id]
    else:
        exps = [e.experiment_id for e in c.search_experiments()]
    runs = c.search_runs(exps, order_by=["attributes.start_time DESC"], max_results=last)
    return RunsTable([RunResult.from_run(r, experiment_name(r.info.experiment_id, config)) for r in runs])


def compare(a: str, b: str, config=None) -> Comparison:
    return Comparison(resolve_run(a, config), resolve_run(b, config))


def sweep_dead_runs(c=None) -> list[str]:
    """Mark KILLED the RUNNING runs whose owning process on this host is gone (any store, through MLflow)."""
    return sweep.sweep_client(c or client())
