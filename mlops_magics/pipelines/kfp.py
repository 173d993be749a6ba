"""The same DAG as a Kubeflow Pipelines v2 pipeline: one lightweight component per step that runs
papermill on its notebook, which travels inside the component (``embedded_artifact_path``).

The pipeline is written as a readable Python module (``pipeline_kfp.py`` in the run folder), then
imported and compiled by ``kfp``: what is compiled is what a user can read and change. Pipeline-level
parameters become the KFP pipeline's inputs and reach every step that declares them.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import time
import uuid
from pathlib import Path

from .._version import __version__
from ..errors import BackendError, UserInputError
from .engines import Engine
from .kfp_settings import parse_secrets, settings
from .results import PipelineResult
from .spec import Pipeline, load

KFP_TYPES = {str: "str", bool: "bool", int: "int", float: "float", list: "list", dict: "dict"}
DEFAULT_IMAGE = f"mlops-magics:{__version__}"  # built from the repository's Dockerfile (mlops-magics image)


def _ident(name: str) -> str:
    return "step_" + re.sub(r"\W", "_", name)


def _type(name: str, value, where: str) -> str:
    if type(value) not in KFP_TYPES:
        raise UserInputError(
            f"{where}: parameter {name} = {value!r} has no KFP type; give it a str, int, float, bool, "
            "list or dict value with -p"
        )
    if isinstance(value, str) and "\n" in value:  # breaks the compiled YAML (kubeflow/pipelines #10438)
        raise UserInputError(f"{where}: parameter {name} is a multi-line string, which KFP cannot compile")
    return KFP_TYPES[type(value)]


def check_local(pipeline: Pipeline) -> None:
    """Refuse what ``kfp.local``'s SubprocessRunner cannot run, before anything runs."""
    for step in pipeline.steps.values():
        asks = []
        if step.image:
            asks.append(f"a container image ({step.image}); SubprocessRunner runs no containers")
        if step.gpu:
            asks.append(f"{step.gpu} GPU(s); a local run has no accelerators")
        if step.packages:
            asks.append("packages to install; kfp.local would pip-install them into this interpreter")
        if asks:
            raise UserInputError(
                f"--engine kfp-local cannot run step {step.name}: it asks for {'; '.join(asks)}. "
                "Use --engine kfp --host URL, or --engine local"
            )


def _flows(pipeline: Pipeline, overrides: dict, step: str, key: str) -> bool:
    """Whether step ``step`` takes ``key`` from the pipeline's shared inputs (not fixed for that step)."""
    return (key in pipeline.steps[step].declared and key not in pipeline.steps[step].parameters
            and f"{step}.{key}" not in overrides)  # fmt: skip


def _input(step: str, key: str) -> str:
    """The pipeline input of a parameter fixed for one step: ``train.C`` -> ``train__C``."""
    return re.sub(r"\W", "_", step) + "__" + key


def _ours(image: str) -> bool:
    """Whether ``image`` is built from the repository's Dockerfile (``[REGISTRY/]mlops-magics:TAG``): it
    holds papermill, kfp and the locked stack, so a step installs nothing when it starts."""
    return image.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0] == "mlops-magics"


def _arg(name: str) -> str:
    return "env_" + name.lower()


def source(pipeline: Pipeline, overrides: dict, inputs: dict[str, Path], *, local: bool,
           base_image: str | None = None, env: dict | None = None, secrets: dict | None = None) -> str:  # fmt: skip
    """The Python module that defines the KFP pipeline; ``inputs``: the prepared notebook per step.

    Every parameter of every step is a pipeline input: shared ones by their name, those fixed for one
    step as ``STEP__NAME``; the workspace settings too (``env_mlops_server``, ...). A step with side
    effects (``cache: false``, the default for steps that track, register, deploy or save) is never
    answered from Kubeflow's cache."""
    from importlib.metadata import version

    from .local import absolute_paths

    step_params = pipeline.step_parameters(overrides)
    if local:  # a step runs in a temporary folder: paths the user gave must not be relative
        step_params = absolute_paths(step_params, Path.cwd())
    for name in pipeline.order():  # the notebook's own defaults too: a run on the cluster can change them
        defaults = {k: v for k, v in pipeline.steps[name].declared.items()
                    if type(v) in KFP_TYPES and not (isinstance(v, str) and "\n" in v)}  # fmt: skip
        step_params[name] = {**defaults, **step_params[name]}
    flow = {**pipeline.parameters, **{k: v for k, v in overrides.items() if "." not in k}}
    for key in flow:  # a pipeline input has the value (and type) a step receiving it gets
        flow[key] = next((step_params[s][key] for s in pipeline.order() if _flows(pipeline, overrides, s, key)),
                         flow[key])  # fmt: skip
        _type(key, flow[key], "pipeline")
    fixed = {_input(s, k): v for s in pipeline.order() for k, v in step_params[s].items()
             if not (k in flow and _flows(pipeline, overrides, s, k))}  # fmt: skip
    env_inputs = {_arg(k): v for k, v in settings(env).items()}
    secrets = secrets or {}
    lines = [
        f"# Generated by mlops-magics from {pipeline.source.name}: one KFP component per notebook step.",
        "from kfp import dsl",
        *(["from kfp import kubernetes"] if secrets else []),
        "",
    ]
    calls = []
    for name in pipeline.order():
        step = pipeline.steps[name]
        values = step_params[name]
        args = [f"{k}: {_type(k, v, f'step {name}')}" for k, v in values.items()] + [
            f"{a}: str" for a in env_inputs
        ]
        image = step.image or base_image or DEFAULT_IMAGE
        ours = _ours(image)
        if local or ours:  # the project's image holds the stack; kfp.local runs this interpreter
            packages = list(step.packages)
        else:
            packages = [
                f"papermill=={version('papermill')}",
                f"ipykernel=={version('ipykernel')}",
                *step.packages,
            ]
        timeout = repr(step.timeout) if step.timeout else "None"
        lines += [
            "",
            f"@dsl.component(base_image={image!r}, packages_to_install={packages!r},",
            f"               install_kfp_package={not (local or ours)}, embedded_artifact_path={str(inputs[name])!r})",
            f"def {_ident(name)}(notebook: dsl.EmbeddedInput[dsl.Artifact], output_notebook: dsl.Output[dsl.Artifact]"
            + "".join(f", {a}" for a in args)
            + "):",
            f'    """Step {name}: papermill runs {step.notebook.name}."""',
            "    import os",
            "    import shutil",
            "    import tempfile",
            "",
            "    import papermill as pm",
            "",
            "    for variable, value in ("
            + "".join(f"({k!r}, {a}), " for k, a in zip(settings(env), env_inputs))
            + "):",
            "        if value:  # the workspace's settings reach the kernel",
            "            os.environ[variable] = value",
            "    if os.environ.get('MLOPS_SERVER'):  # the team's services hold the state: a home of its own",
            "        os.environ['HOME'] = tempfile.mkdtemp(prefix='mlops-step-')",
            "        os.environ['XDG_CACHE_HOME'] = os.path.join(os.environ['HOME'], '.cache')",
            "        os.environ.pop('MLOPS_HOME', None)",
            "    parameters = {" + ", ".join(f"{k!r}: {k}" for k in values) + "}",
            "    path = notebook.path",
            "    if os.path.isdir(path):",
            f"        path = os.path.join(path, {inputs[name].name!r})",
            f"    out = os.path.join(tempfile.mkdtemp(), {step.notebook.name!r})",
            "    # the runs it logs name their notebook as the pipeline does (kfp names the embedded copy by step)",
            f"    os.environ['MLOPS_NOTEBOOK_PATH'] = os.path.join(os.path.dirname(path), {step.notebook.name!r})",
            "    try:",
            "        # the kernel name is split: kfp.local rewrites that word to its own interpreter",
            '        pm.execute_notebook(path, out, parameters=parameters, kernel_name="python" + "3",',
            f"                            progress_bar=False, execution_timeout={timeout}, cwd=os.path.dirname(path))",
            "    finally:",
            "        if os.path.exists(out):  # kept even when a cell failed",
            "            shutil.copyfile(out, output_notebook.path)",
        ]
        call_args = [f"{k}={k}" if k in flow and _flows(pipeline, overrides, name, k) else f"{k}={_input(name, k)}"
                     for k in values] + [f"{a}={a}" for a in env_inputs]  # fmt: skip
        task = f"{_ident(name)}_task"
        call = f"    {task} = {_ident(name)}({', '.join(call_args)})"
        if step.needs:
            call += ".after(" + ", ".join(f"{_ident(n)}_task" for n in step.needs) + ")"
        calls.append(call)
        if not local:  # kfp.local warns that it ignores these
            calls.append(f"    {task}.set_display_name({name!r})")
            calls.append(
                f"    {task}.set_caching_options({step.cache})  # {'no side effects' if step.cache else 'side effects: never cached'}"
            )
            for variable, (secret, key) in secrets.items():
                calls.append(
                    f"    kubernetes.use_secret_as_env({task}, secret_name={secret!r}, secret_key_to_env={{{key!r}: {variable!r}}})"
                )
        if step.gpu and not local:
            calls.append(
                f"    {task}.set_accelerator_type('nvidia.com/gpu').set_accelerator_limit({step.gpu})"
            )
    inputs_all = {**flow, **fixed}
    signature = ", ".join([f"{k}: {_type(k, v, 'pipeline')} = {v!r}" for k, v in inputs_all.items()]
                          + [f"{a}: str = {v!r}" for a, v in env_inputs.items()])  # fmt: skip
    kfp_name = re.sub(r"[^a-z0-9-]", "-", pipeline.name.lower()).strip("-") or "pipeline"
    lines += ["", "", f"@dsl.pipeline(name={kfp_name!r}, description={f'mlops-magics pipeline {pipeline.name}'!r})",
              f"def pipeline({signature}):", *calls, ""]  # fmt: skip
    return "\n".join(lines)


def build(pipeline: Pipeline, overrides: dict, folder: Path, *, local: bool, base_image: str | None = None,
          env: dict | None = None, secrets: dict | None = None):  # fmt: skip
    """Write ``pipeline_kfp.py`` into ``folder`` and import it; returns the module."""
    from .local import prepare

    _, inputs = prepare(pipeline, overrides, folder)  # parameters cells tagged, as papermill wants
    path = folder / "pipeline_kfp.py"
    path.write_text(
        source(pipeline, overrides, inputs, local=local, base_image=base_image, env=env, secrets=secrets)
    )
    name = f"mlops_kfp_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # kfp reads the components' source through inspect
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # the default image's notice; the image is explicit
        spec.loader.exec_module(module)
    return module


def compile_to_file(module, path: Path) -> Path:
    from kfp import compiler

    compiler.Compiler().compile(module.pipeline, str(path))
    return path


def _folder(pipeline: Pipeline, config=None) -> Path:
    from ..workspace import current

    ws = current(config).ensure()
    return ws.pipeline_run_dir(pipeline.name, "kfp")


class KfpEngine(Engine):
    name = "kfp"
    description = "compile for Kubeflow Pipelines (--compile FILE.yaml) and submit (--host URL)"
    options = ("compile_to", "host", "base_image", "experiment", "env", "secrets")

    def run(self, target, params: dict, *, progress: bool = True, log=print, config=None, **options):
        return compile_and_submit(target, params, log=log, config=config, **options)


class KfpLocalEngine(Engine):
    name = "kfp-local"
    description = "the compiled pipeline run by kfp.local on this machine"
    options = ("compile_to", "env")

    def run(self, target, params: dict, *, progress: bool = True, log=print, config=None, **options):
        return run_local(target, params, log=log, config=config, **options)


def compile_and_submit(target, overrides: dict | None, *, compile_to=None, host=None, base_image=None,
                       experiment=None, env=None, secrets=None, log=print, config=None) -> PipelineResult:  # fmt: skip
    """Compile to IR YAML (``compile_to``, else into the run folder) and, with ``host``, submit it."""
    if not (compile_to or host):
        raise UserInputError(
            "--engine kfp needs --compile FILE.yaml or --host URL (or use --engine kfp-local)"
        )
    pipeline = load(target)
    overrides = dict(overrides or {})
    folder = _folder(pipeline, config)
    module = build(pipeline, overrides, folder, local=False, base_image=base_image, env=env,
                   secrets=parse_secrets(secrets))  # fmt: skip
    path = compile_to_file(module, Path(compile_to) if compile_to else folder / "pipeline.kfp.yaml")
    log(
        f"compiled {pipeline.name} ({len(pipeline.steps)} steps) to {path}; pipeline source {folder / 'pipeline_kfp.py'}"
    )
    result = PipelineResult(
        name=pipeline.name, run_id=None, folder=str(folder), engine="kfp", compiled=str(path)
    )
    if not host:
        return result
    import warnings

    import kfp

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # "works with KFP v2.0.0-beta.2 and later"
            client = kfp.Client(host=host)
        run = client.create_run_from_pipeline_package(
            str(path),
            arguments={},
            run_name=f"{pipeline.name} {time.strftime('%Y-%m-%d %H:%M:%S')}",
            experiment_name=experiment or pipeline.name,
        )
    except Exception as exc:
        raise BackendError(f"kfp.Client({host}).create_run_from_pipeline_package", exc) from exc
    log(f"submitted: run {run.run_id} at {host}")
    result.run_id, result.host = run.run_id, host
    return result


def run_local(target, overrides: dict | None, *, compile_to=None, env=None, config=None, log=print):
    """Run the compiled pipeline with ``kfp.local`` (SubprocessRunner, this interpreter)."""
    from .step import StepOutcome

    pipeline = load(target)
    check_local(pipeline)
    overrides = dict(overrides or {})
    folder = _folder(pipeline, config)
    module = build(pipeline, overrides, folder, local=True, env=env)
    if compile_to:
        compile_to_file(module, Path(compile_to))
    from kfp import local

    from ..config import environ
    from ..workspace import current

    root = folder / "outputs"
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root), raise_on_error=False)
    started = time.perf_counter()
    from ..config import get_config

    shared = {} if (config or get_config()).server else {"MLOPS_HOME": str(current(config).ensure().root)}
    try:
        with environ(**shared):  # embedded: the steps share this workspace; a team's: only its services
            module.pipeline()
    except Exception as exc:
        raise BackendError("kfp.local pipeline run", exc) from exc
    result = PipelineResult(name=pipeline.name, run_id=None, folder=str(folder), engine="kfp-local",
                            seconds=time.perf_counter() - started)  # fmt: skip
    for name in pipeline.order():
        outputs = sorted(root.glob(f"*/{_ident(name).replace('_', '-')}/output_notebook"))
        outcome = StepOutcome(name, "FINISHED", output=outputs[-1] if outputs else None)
        _local_outcome(outcome, pipeline, result)
        result.steps.append(outcome)
    (folder / "result.json").write_text(
        json.dumps({"steps": [[s.name, s.status, str(s.output)] for s in result.steps]})
    )
    return result


def _local_outcome(outcome, pipeline, result) -> None:
    """FINISHED when the step's output notebook exists with no papermill exception in it; else the
    failing cell, read from that notebook as the local engine does."""
    from .step import locate

    done = {s.name: s for s in result.steps}
    failed = [n for n in pipeline.steps[outcome.name].needs if n in done and not done[n].ok]
    if failed:
        outcome.status, outcome.kind = "SKIPPED", "skipped"
        outcome.error = f"needs {', '.join(failed)}, which did not finish"
        return
    if outcome.output is None:
        outcome.status, outcome.kind, outcome.error = (
            "FAILED",
            "kernel",
            "no output notebook (see the kfp.local log)",
        )
        return
    meta = json.loads(outcome.output.read_text()).get("metadata", {}).get("papermill", {})
    outcome.seconds = meta.get("duration") or 0.0
    if meta.get("exception"):
        outcome.status, outcome.kind = "FAILED", "cell"
        locate(outcome)
