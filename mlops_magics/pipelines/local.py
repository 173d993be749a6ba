"""The local engine: the DAG's steps run with papermill, independent ones in parallel.

One MLflow parent run per pipeline run and a child run per step (``mlflow.parentRunId``); the
notebooks' own ``%%track`` runs nest under their step's run. Output notebooks are kept in the
workspace's pipeline run folder and logged as artifacts of the step runs. A failed step is marked
FAILED with the cell that failed, its dependants are skipped, the others carry on.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import os
import shutil
import time
from pathlib import Path

from .. import procs, schema
from . import params as P
from . import record as R
from .engines import Engine
from .results import PipelineResult
from .spec import Pipeline
from .step import StepOutcome, describe, run_notebook


class LocalEngine(Engine):
    name = "local"
    description = "papermill on this machine, independent steps in parallel, MLflow parent/child runs"
    options = ("parallel", "timeout", "experiment", "tags")

    def run(self, target, params: dict, *, progress: bool = True, log=print, config=None, **options):
        return run(target, params, progress=progress, log=log, config=config, **options)


def absolute_paths(step_params: dict[str, dict], base: Path) -> dict[str, dict]:
    """String values naming an existing path (from where the user stands) become absolute: the
    kernels run in their notebook's folder."""
    out = {}
    for step, values in step_params.items():
        found = R.input_paths(values, base)
        out[step] = {k: (str(found[k]) if k in found else v) for k, v in values.items()}
    return out


def prepare(pipeline: Pipeline, overrides: dict, folder: Path) -> tuple[dict, dict]:
    """Checked parameters per step, and the prepared inputs written to ``folder/inputs``."""
    step_params = absolute_paths(pipeline.step_parameters(overrides), Path.cwd())
    inputs = {}
    (folder / "inputs").mkdir(parents=True, exist_ok=True)
    import nbformat

    for name, step in pipeline.steps.items():
        inputs[name] = folder / "inputs" / f"{name}.ipynb"
        nbformat.write(P.prepared(P.load(step.notebook)), inputs[name])
    return step_params, inputs


def run(target, overrides: dict | None = None, *, parallel: int = 1, timeout: float | None = None,
        experiment: str | None = None, progress: bool = True, log=print, config=None,
        tags: dict | None = None) -> PipelineResult:  # fmt: skip
    """Run a pipeline file or a notebook; never raises for a failing step (see ``result.ok``)."""
    from ..config import environment, get_config
    from ..errors import UserInputError
    from ..tracking.store import is_embedded, retry_locked
    from ..workspace import current
    from .spec import load
    from .step import preload

    if not 1 <= parallel <= 64:
        raise UserInputError(f"--parallel takes a number of steps at once, 1 to 64, not {parallel}")
    if timeout is not None and not timeout > 0:
        raise UserInputError(f"--timeout {timeout:g}: give the seconds a cell may run, e.g. --timeout 600")
    pipeline = load(target)
    overrides = dict(overrides or {})
    ws = current(config).ensure()
    folder = ws.pipeline_run_dir(pipeline.name)
    step_params, inputs = prepare(pipeline, overrides, folder)
    if pipeline.source.suffix != ".ipynb":
        shutil.copy(pipeline.source, folder / pipeline.source.name)
    preload()  # papermill first: the first kernel then starts at once, beside the records' thread
    records = Records(pipeline, step_params, overrides, folder, experiment or pipeline.name, tags, config)
    started = time.perf_counter()
    result = PipelineResult(name=pipeline.name, run_id="", folder=str(folder))
    # the kernels start with this process's settings (MLOPS_HOME, MLOPS_ONLINE_STORE, ...)
    kernel_env = {**environment(config), "MLOPS_HOME": str(ws.root),
                  "MLFLOW_EXPERIMENT_NAME": os.environ.get("MLFLOW_EXPERIMENT_NAME") or (experiment or pipeline.name)}  # fmt: skip
    uri = (config or get_config()).resolved_tracking_uri()
    if uri and not is_embedded(uri):
        kernel_env["MLFLOW_TRACKING_URI"] = uri
    status = "KILLED"
    try:

        def one(name: str, position: int) -> StepOutcome:
            step = pipeline.steps[name]
            ids = folder / f"{name}.ids.json"  # the step's runs, for its kernel (context.pipeline_ids)
            child = records.step(name, ids)
            env = {**kernel_env, "MLOPS_NOTEBOOK_PATH": str(step.notebook), "MLOPS_PIPELINE_STEP": name,
                   "MLOPS_PIPELINE_IDS": str(ids)}  # fmt: skip
            bar = {"desc": name, "position": position, "leave": True} if progress else False
            log(f"{pipeline.name}: step {name} started")
            try:
                outcome = run_notebook(name, inputs[name], folder / f"{name}.ipynb", step_params[name],
                                       cwd=step.notebook.parent, env=env, timeout=step.timeout or timeout,
                                       progress_bar=bar)  # fmt: skip
                outcome.run_id = child.result()
                c, parent_id = records.client, records.parent_id
                _finish_step(c, outcome)
                if outcome.output.is_file():  # the parent holds every step's notebook too
                    retry_locked(c.log_artifact)(parent_id, str(outcome.output), "notebooks")
            except BaseException:  # never leave the step's run RUNNING
                if _made(child):
                    retry_locked(records.client.set_terminated)(child.result(), "KILLED")
                raise
            log(f"{pipeline.name}: step {name} {outcome.status.lower()} in {outcome.seconds:.1f} s"
                + ("" if outcome.ok else f" — {describe(outcome)}"))  # fmt: skip
            return outcome

        outcomes = _schedule(pipeline, one, parallel)
        result.steps = [outcomes[n] for n in pipeline.order()]
        result.run_id = records.parent_id  # raises what stopped the records, if anything did
        for s in result.steps:
            if s.status == "SKIPPED":
                log(f"{pipeline.name}: step {s.name} skipped — {s.error}")
        status = "FINISHED" if result.ok else "FAILED"
    finally:
        result.seconds = time.perf_counter() - started
        if records.opened():
            c = records.client
            if result.failures:
                retry_locked(c.set_tag)(records.parent_id, schema.ERROR, result.failures[0][:500])
            retry_locked(c.set_terminated)(records.parent_id, status)
            result.run_id = records.parent_id
        records.close()
        (folder / "result.json").write_text(json.dumps(
            {"run_id": result.run_id, "status": status, "seconds": result.seconds,
             "steps": [{"name": s.name, "status": s.status, "run_id": s.run_id, "seconds": s.seconds,
                        "error": s.error, "cell": s.cell} for s in result.steps]}, indent=2))  # fmt: skip
    return result


def _made(future: cf.Future) -> bool:
    return future.done() and not future.cancelled() and future.exception() is None


class Records:
    """The pipeline's MLflow records, made beside the kernels rather than before them: importing MLflow
    and opening the store take about as long as a kernel takes to start, so one thread does them (the
    record, the parent run, then each step's run as its step starts) while the first kernel starts.
    A step's kernel learns its runs from a file written once they exist (``MLOPS_PIPELINE_IDS``)."""

    def __init__(self, pipeline: Pipeline, step_params: dict, overrides: dict, folder: Path, experiment: str,
                 tags: dict | None, config) -> None:  # fmt: skip
        self._pool = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlops-records")
        self._config = config
        self._pipeline, self._step_params = pipeline, step_params
        self._parent = self._pool.submit(self._open, overrides, folder, experiment, tags or {})

    def _open(self, overrides: dict, folder: Path, experiment: str, tags: dict):
        from ..tracking.context import process_tags
        from ..tracking.store import client, experiment_id, retry_locked

        pipeline, config = self._pipeline, self._config
        rec = R.make(pipeline, self._step_params, overrides)
        (folder / "record.json").write_text(json.dumps(rec, indent=2, default=str))
        c = client(config)
        exp = experiment_id(experiment, config)
        git = rec["git"]
        base = {**process_tags(), "mlflow.source.name": str(pipeline.source), schema.PIPELINE: pipeline.name,
                schema.PIPELINE_FOLDER: str(folder)}  # fmt: skip
        if git.get("commit"):
            base.update({"mlflow.source.git.commit": git["commit"], schema.GIT_COMMIT: git["commit"],
                         schema.GIT_DIRTY: str(git["dirty"]).lower()})  # fmt: skip
        parent = retry_locked(c.create_run)(
            exp, run_name=pipeline.name, tags={**base, schema.KIND: "pipeline", **tags}
        )
        parent_id = parent.info.run_id
        try:
            _log_params(c, parent_id, {**pipeline.parameters, **overrides})
            retry_locked(c.log_dict)(parent_id, rec, "pipeline_record.json")
        except BaseException:
            retry_locked(c.set_terminated)(parent_id, "FAILED")
            raise
        return c, exp, parent_id, base

    def _step(self, name: str, ids: Path) -> str:
        from ..tracking.store import retry_locked

        found = {}
        try:
            c, exp, parent_id, base = self._parent.result()
            step = self._pipeline.steps[name]
            child = retry_locked(c.create_run)(exp, run_name=name, tags={
                **base, "mlflow.parentRunId": parent_id, schema.KIND: "pipeline_step", schema.PIPELINE_RUN: parent_id,
                schema.PIPELINE_STEP: name, "mlflow.source.name": str(step.notebook), schema.NOTEBOOK: str(step.notebook)})  # fmt: skip
            _log_params(c, child.info.run_id, self._step_params[name])
            found = {"MLOPS_PIPELINE_RUN_ID": parent_id, "MLOPS_PIPELINE_STEP_RUN_ID": child.info.run_id}
            return child.info.run_id
        finally:  # written either way: a kernel waiting for it must not wait in vain
            tmp = ids.with_suffix(".tmp")
            tmp.write_text(json.dumps(found))
            os.replace(tmp, ids)

    def step(self, name: str, ids: Path) -> cf.Future:
        """The step's run (a future), made once the parent run exists."""
        return self._pool.submit(self._step, name, ids)

    def opened(self) -> bool:
        cf.wait([self._parent])
        return _made(self._parent)

    @property
    def client(self):
        return self._parent.result()[0]

    @property
    def parent_id(self) -> str:
        return self._parent.result()[2]

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _schedule(pipeline: Pipeline, one, parallel: int) -> dict[str, StepOutcome]:
    """Start each step when its needs have finished, at most ``parallel`` at once.

    Interrupted (Ctrl-C) or failing itself, it stops the kernels it started before re-raising: the
    steps' threads then end at once (their kernels died) instead of running on unattended."""
    order = pipeline.order()
    outcomes: dict[str, StepOutcome] = {}
    running: dict[cf.Future, str] = {}
    slots = list(range(parallel))
    since = time.time()
    pool = cf.ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="mlops-step")
    try:
        while len(outcomes) < len(order):
            for name in order:
                if name in outcomes or name in running.values() or len(running) >= parallel:
                    continue
                needs = pipeline.steps[name].needs
                failed = [n for n in needs if n in outcomes and not outcomes[n].ok]
                if failed:
                    outcomes[name] = StepOutcome(name, "SKIPPED", kind="skipped",
                                                 error=f"needs {', '.join(failed)}, which did not finish")  # fmt: skip
                elif all(n in outcomes for n in needs):
                    slot = slots.pop(0)
                    future = pool.submit(one, name, slot)
                    future.slot = slot
                    running[future] = name
            if not running:
                continue
            done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for future in done:
                name = running.pop(future)
                slots.append(future.slot)
                outcomes[name] = future.result()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        stop_kernels(since)
        pool.shutdown(wait=True)
        raise
    pool.shutdown()
    return outcomes


def stop_kernels(since: float) -> list[int]:
    """Terminate the ipykernel processes this process started since ``since``, and what they started
    (a step's MLServer would outlive a terminated kernel); kill what does not stop within 5 s."""
    return procs.terminate_tree(procs.children_running("ipykernel", since), grace=5)


def _log_params(c, run_id: str, values: dict) -> None:
    from mlflow.entities import Param

    from ..tracking.store import param_value, retry_locked

    items = [Param(k, param_value(json.dumps(v) if not isinstance(v, str) else v)) for k, v in values.items()]
    if items:
        retry_locked(c.log_batch)(run_id, params=items)


def _finish_step(c, outcome: StepOutcome) -> None:
    """Output notebook as artifact; the notebook's own runs: any left RUNNING failed, their metrics
    copied onto the step run (``RUN_NAME.metric``) for ``reproduce``; the step run's status."""
    from mlflow.entities import Metric

    from ..tracking.store import quote, retry_locked

    run_id = outcome.run_id
    for path in (outcome.output, outcome.output.with_suffix(".kernel.log") if not outcome.ok else None):
        if path is not None and path.is_file():
            try:
                retry_locked(c.log_artifact)(run_id, str(path))
            except Exception:  # a lost artifact must not hide the step's own outcome
                pass
    inner = c.search_runs([e.experiment_id for e in c.search_experiments()],
                          filter_string=f"tags.`{schema.PIPELINE_STEP_RUN}` = {quote(run_id)}",
                          order_by=["attributes.start_time ASC"], max_results=1000)  # fmt: skip
    names = [r.info.run_name or r.info.run_id[:8] for r in inner]
    now = int(time.time() * 1000)
    metrics = []
    for i, r in enumerate(inner):
        if r.info.status == "RUNNING":
            retry_locked(c.set_tag)(r.info.run_id, schema.ERROR, describe(outcome))
            retry_locked(c.set_terminated)(r.info.run_id, "FAILED")
        label = names[i] if names.count(names[i]) == 1 else f"{names[i]}#{i}"
        metrics += [Metric(f"{label}.{k}", v, now, 0) for k, v in r.data.metrics.items()]
    if metrics:
        retry_locked(c.log_batch)(run_id, metrics=metrics)
    if not outcome.ok:
        retry_locked(c.set_tag)(run_id, schema.ERROR, describe(outcome)[:500])
        if outcome.cell is not None:
            retry_locked(c.set_tag)(run_id, schema.FAILED_CELL, str(outcome.cell))
    retry_locked(c.set_terminated)(run_id, outcome.status)
