"""``mlops-magics``: the console face of the same API the magics call."""

from __future__ import annotations

import os
import sys

import click

from ._version import __version__
from .pipelines.engines import ENGINES

# jsonschema (imported by nbformat and papermill) imports rfc3987_syntax when it is installed (Jupyter
# pulls it in), and that module builds 39 Earley parsers at import: 1 to 3 s of every command that reads
# a notebook (python-jsonschema/jsonschema#1428). Nothing this process validates uses the "iri" formats,
# so here jsonschema goes without that optional checker, as it does where the package is absent.
sys.modules.setdefault("rfc3987_syntax", None)


class _Group(click.Group):
    """A mistake is one line and exit code 2 (click's own parse errors too, without the usage block); a
    failing backend (MLflow, kfp, a server) is one line and exit code 1, not a traceback."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            return super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as exc:
            hint = f" (see {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
            click.echo(f"Error: {' '.join(exc.format_message().split())}{hint}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)

    def invoke(self, ctx):
        from .errors import MLOpsError

        try:
            return super().invoke(ctx)
        except MLOpsError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mlops-magics")
@click.option("--home", envvar="MLOPS_HOME", help="Workspace folder (default: ./.mlops; env MLOPS_HOME).")
@click.pass_context
def main(ctx, home):
    """Jupyter-native MLOps: the workspace, pipelines, serving and lineage from the terminal."""
    from .config import get_config

    if home:
        get_config().home = home


@main.command()
@click.argument("path", required=False, type=click.Path(file_okay=False))
def init(path):
    """Create the workspace at PATH (default: the one in force)."""
    from .status import init as create

    status = create(path)
    click.echo(f"workspace ready: {status.home}")
    click.echo(status.card().to_text())


@main.command()
def status():
    """Summarise the workspace: backends in force and counts of what it holds."""
    from .status import workspace_status

    click.echo(workspace_status().card().to_text())


@main.command()
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print the chain as JSON.")
def lineage(ref, as_json):
    """The chain around REF: models:/NAME@ALIAS, deployment:NAME or run:ID."""
    import json

    from .lineage import lineage as walk

    chain = _usage(walk, ref)
    click.echo(json.dumps(chain.to_dict(), indent=2) if as_json else chain.to_text())


def _usage(fn, *args, **kwargs):
    """Call the API; a user mistake becomes click's one-line usage error (exit code 2)."""
    from .errors import UserInputError

    try:
        return fn(*args, **kwargs)
    except UserInputError as exc:
        raise click.UsageError(str(exc)) from None


@main.command()
@click.argument("target", type=click.Path(dir_okay=False))
@click.option(
    "-p",
    "--parameter",
    "parameters",
    nargs=2,
    multiple=True,
    metavar="NAME VALUE",
    help="A parameter (JSON literal, else a string); STEP.NAME for one step only. Repeatable.",
)
@click.option(
    "--parallel", type=click.IntRange(1, 64), help="local: independent steps run at once (default 1)."
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    help="local: seconds a cell may run (default: no limit).",
)
@click.option("--experiment", help="MLflow experiment of the pipeline run (default: the pipeline's name).")
@click.option(
    "--engine",
    type=click.Choice(ENGINES.names()),
    default="local",
    show_default=True,
    help="local: papermill here; kfp: compile/submit to Kubeflow; kfp-local: kfp.local here.",
)
@click.option(
    "--compile", "compile_to", type=click.Path(dir_okay=False), help="kfp: write the pipeline IR YAML here."
)
@click.option("--host", help="kfp: submit to the Kubeflow Pipelines API at this URL.")
@click.option(
    "--base-image",
    default=None,
    help="kfp: container image of the steps (default: mlops-magics:VERSION, "
    "built from the Dockerfile `mlops-magics image` prints).",
)
@click.option(
    "--env",
    "env",
    multiple=True,
    metavar="NAME=VALUE",
    help="kfp: a setting every step gets (a pipeline input; not for secrets). Repeatable.",
)
@click.option(
    "--secret",
    "secrets",
    multiple=True,
    metavar="ENV=SECRET:KEY",
    help="kfp: an environment variable from a Kubernetes secret (never written in the file). Repeatable.",
)
@click.option("--no-progress", is_flag=True, help="No progress bars (one line per step still).")
def run(
    target,
    parameters,
    parallel,
    timeout,
    experiment,
    engine,
    compile_to,
    host,
    base_image,
    env,
    secrets,
    no_progress,
):
    """Run a notebook or a pipeline file (steps with needs:) headless, with parameters.

    \b
      mlops-magics run notebooks/02_train.ipynb -p C 0.5 -p data_path data/x.csv
      mlops-magics run notebooks/pipeline.yaml -p data_path data/x.csv --parallel 2
      mlops-magics run notebooks/pipeline.yaml --engine kfp --compile pipeline.kfp.yaml
      mlops-magics run notebooks/pipeline.yaml --engine kfp-local
    """
    from . import pipelines
    from .pipelines.params import parse_overrides

    result = _usage(pipelines.run, target, parse_overrides(parameters), engine=engine, progress=not no_progress,
                    log=click.echo, parallel=parallel, timeout=timeout, experiment=experiment, compile_to=compile_to,
                    host=host, base_image=base_image, env=list(env) or None, secrets=list(secrets) or None)  # fmt: skip
    click.echo(result.card().to_text())
    if not result.ok:
        raise SystemExit(1)


@main.command()
@click.argument("run_id")
@click.option("--rtol", type=click.FloatRange(min=0), default=1e-6, show_default=True,
              help="Relative tolerance for a metric to match.")  # fmt: skip
@click.option(
    "--parallel",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Independent steps run at once.",
)
@click.option("--no-progress", is_flag=True, help="No progress bars.")
def reproduce(run_id, rtol, parallel, no_progress):
    """Run pipeline run RUN_ID again from its record; compare its metrics (exit 1 when they differ)."""
    from .pipelines import reproduce as again

    result = _usage(again, run_id, rtol=rtol, parallel=parallel, progress=not no_progress, log=click.echo)
    click.echo(result.card().to_text())
    if not result.matches:
        raise SystemExit(1)


@main.group(invoke_without_command=True)
@click.pass_context
def deployments(ctx):
    """Local deployments of the workspace and their status (any process's, detached ones included)."""
    if ctx.invoked_subcommand is None:
        from .serving import list_deployments

        click.echo(list_deployments().card().to_text())


@deployments.command("stop")
@click.argument("name", required=False)
@click.option("--all", "stop_all", is_flag=True, help="Stop every running deployment of the workspace.")
def stop_deployment(name, stop_all):
    """Stop deployment NAME (or --all), whichever process started it."""
    from . import serving

    if stop_all == bool(name):
        raise click.UsageError("give a deployment name or --all")
    result = _usage(serving.stop_all) if stop_all else _usage(serving.stop, name)
    click.echo(result.card().to_text())


@main.command()
@click.option(
    "--db",
    help="PostgreSQL URL for MLflow's store and Feast's registry (default: SQLite and a file registry in the workspace).",
)
@click.option(
    "--online", help="Feast's online store, e.g. redis://cache:6379 (default: SQLite in the workspace)."
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address every server binds.")
@click.option(
    "--token",
    envvar="MLOPS_TOKEN",
    help="A shared token (12+ characters) the servers require; env MLOPS_TOKEN.",
)
@click.option("--insecure", is_flag=True, help="Allow a non-loopback --host without a token.")
def serve(db, online, host, token, insecure):
    """Serve the workspace to a team: MLflow, Feast's registry/offline/online servers, the Evidently UI.
    Ctrl-C stops them all."""
    import time

    from . import servers
    from .team.serve import serve as start

    team = _usage(start, db=db, online=online, host=host, token=token, insecure=insecure, log=click.echo)
    click.echo(team.card().to_text())
    try:
        while all(server.alive() for server in servers.running().values()) and servers.running():
            time.sleep(1)
        click.echo("a service stopped; stopping the others", err=True)
        raise SystemExit(1)
    except KeyboardInterrupt:
        click.echo("stopping the services")
    finally:
        servers.stop_all()


@main.command()
@click.argument("source", type=click.Path(file_okay=False))
@click.option(
    "--to", "server", required=True, help="The team's server: the URL `mlops-magics serve` printed."
)
def push(source, server):
    """Copy a personal workspace (its .mlops folder) into the team's services: runs with their artifacts and
    lineage, logged and registered models with aliases, feature views with their data, saved drift checks.
    Pushing again copies only what is new. MLOPS_TOKEN carries the team's token."""
    from .team.push import push as copy

    click.echo(_usage(copy, source, server.rstrip("/"), log=click.echo).card().to_text())


@main.command("prepare-serving")
def prepare_serving():
    """Build the serving environment (MLServer + scikit-learn) now, so the first %deploy does not wait."""
    from .serving.env import prepare_sklearn_env

    click.echo(f"serving environment: {prepare_sklearn_env(log=click.echo)}")


@main.command()
@click.option("--data-path", default="", help="A credit CSV; default: the German Credit data.")
@click.option("--target", default="creditability", show_default=True, help="The label column.")
@click.option("--positive-label", default="bad", show_default=True, help="The class that means bad risk.")
def demo(data_path, target, positive_label):
    """Run the credit-risk notebooks end to end on the embedded defaults and print a summary."""
    from .demo import format_summary, run_demo
    from .errors import PipelineFailed

    try:
        summary = run_demo(data_path, target, positive_label, log=click.echo)
    except PipelineFailed as exc:
        for line in exc.failures:
            click.echo(line, err=True)
        raise SystemExit(1) from None
    click.echo(format_summary(summary))


def script() -> None:
    """The ``mlops-magics`` console script: ``main``, then a quick exit.

    Python's own exit ends by freeing every object of the process one by one; with MLflow, SQLAlchemy,
    pandas and papermill loaded that took 0.75 s of each ``mlops-magics run`` (a one-cell pipeline
    measured 3.1 s with it, 2.3 s without). So the steps of an exit that do something are taken here in
    Python's order (non-daemon threads joined and executors stopped, then atexit handlers: pending
    metric points are written, servers stopped, output flushed) and the process then leaves at once."""
    import atexit
    import threading

    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code
    if code is not None and not isinstance(code, int):  # sys.exit("message"): printed, status 1
        print(code, file=sys.stderr)
        code = 1
    threading._shutdown()  # what interpreter shutdown does first (private, but the very same call)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing left to say
            pass
    os._exit(code or 0)


if __name__ == "__main__":  # pragma: no cover
    script()
