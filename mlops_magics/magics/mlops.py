"""%mlops: the workspace — its summary, and creating it explicitly."""

from __future__ import annotations

import argparse
import os

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ._base import dispatch, friendly_errors, parse, parse_sub, store, subparser


def _status(magics, rest, args):
    from ..status import workspace_status

    sub = parse_sub(subparser("%mlops status", "Summary of the workspace."), rest, args)
    return store(magics.shell, sub.output, workspace_status())


def _init(magics, rest, args):
    from ..config import get_config
    from ..status import workspace_status
    from ..workspace import init

    parser = subparser("%mlops init", "Create the workspace (magics create it lazily otherwise).")
    parser.add_argument("path", nargs="?", help="Folder for the workspace; default: the one in force.")
    sub = parse_sub(parser, rest, args)
    config = get_config()
    ws = init(sub.path, config)
    if sub.path:
        if os.environ.get("MLOPS_HOME"):
            print(
                f"Created {ws.root}; MLOPS_HOME={os.environ['MLOPS_HOME']} is still the workspace in force."
            )
        else:
            config.home = str(ws.root)  # the session now works in the workspace it just created
    return store(magics.shell, sub.output, workspace_status(config))


def _lineage(magics, rest, args):
    parser = subparser("%mlops lineage", "The chain around a model, deployment or run.")
    parser.add_argument(
        "ref", help="models:/NAME@ALIAS, models:/NAME/VERSION, deployment:NAME or run:ID|last"
    )
    sub = parse_sub(parser, rest, args)
    from ..lineage import lineage

    return store(magics.shell, sub.output, lineage(sub.ref))


def _click_args(command, prog: str, rest: list[str], args) -> dict | None:
    """Parse ``rest`` with the CLI command itself, so ``%mlops run`` takes exactly its arguments
    (plus ``-o NAME``, which goes to ``args.output``)."""
    import click

    rest = list(rest)
    for flag in ("-o", "--output"):
        while flag in rest:
            i = rest.index(flag)
            if i + 1 >= len(rest):
                raise UsageError(f"{prog}: {flag} takes a variable name")
            args.output = rest[i + 1]
            del rest[i : i + 2]
    try:
        return command.make_context(prog, rest).params
    except click.exceptions.Exit:  # --help printed
        return None
    except click.ClickException as exc:
        raise UsageError(f"{prog}: {exc.format_message()} (type {prog} --help)") from None


def _shown_or_raised(magics, args, result, failures: list[str]):
    """``-o NAME``, then the result: returned to be shown, or shown and raised as a real error when a
    step failed (so a notebook running a pipeline fails too)."""
    from IPython.display import display

    from ..errors import PipelineFailed

    store(magics.shell, args.output, result)
    if not failures:
        return result
    display(result)
    raise PipelineFailed(failures)


def _run(magics, rest, args):
    from .. import cli
    from ..pipelines import api

    p = _click_args(cli.run, "%mlops run", rest, args)
    if p is None:
        return None
    result = api.run(p["target"], cli._overrides(p["parameters"]), parallel=p["parallel"], timeout=p["timeout"],
                     experiment=p["experiment"], engine=p["engine"], compile_to=p["compile_to"], host=p["host"],
                     base_image=p["base_image"], progress=not p["no_progress"])  # fmt: skip
    return _shown_or_raised(magics, args, result, getattr(result, "failures", []))


def _reproduce(magics, rest, args):
    from .. import cli
    from ..pipelines.reproduce import reproduce

    p = _click_args(cli.reproduce, "%mlops reproduce", rest, args)
    if p is None:
        return None
    result = reproduce(p["run_id"], rtol=p["rtol"], parallel=p["parallel"], progress=not p["no_progress"])
    return _shown_or_raised(magics, args, result, result.new.failures)


SUBCOMMANDS = {"status": _status, "init": _init, "lineage": _lineage, "run": _run, "reproduce": _reproduce}


@magics_class
class MLOpsMagics(Magics):
    @magic_arguments()
    @argument(
        "command",
        nargs="?",
        default="status",
        help="status (default): summary card of the workspace | init [PATH]: create the workspace | "
        "lineage REF: the chain from feature views to drift checks around a model, deployment or run | "
        "run NOTEBOOK|PIPELINE.yaml [-p NAME VALUE ...] [--parallel N]: run headless as a pipeline | "
        "reproduce RUN_ID: run a pipeline run again and compare its metrics",
    )
    @argument("rest", nargs=argparse.REMAINDER, help="the subcommand's own arguments")
    @argument("-o", "--output", metavar="NAME", help="store the result object in this variable")
    @line_magic
    @friendly_errors
    def mlops(self, line=""):
        """The mlops_magics workspace.

        ``%mlops`` shows where the workspace is, which backends are in force (embedded or configured)
        and counts of runs, models, feature views, deployments and drift snapshots.
        ``%mlops init [PATH]`` creates the workspace (other magics create it when first needed).
        ``%mlops lineage models:/credit-risk@champion`` (or ``deployment:NAME``, ``run:ID``) shows the
        chain: feature views -> training run -> model versions -> deployments -> drift checks.
        ``%mlops run notebooks/pipeline.yaml -p data_path data/x.csv --parallel 2`` runs notebooks as a
        pipeline, as ``mlops-magics run`` does (same arguments); ``%mlops reproduce RUN_ID`` runs one again.
        Settings: ``%config MLOps``.
        """
        args = parse(self.mlops, line, "mlops")
        return dispatch(SUBCOMMANDS, args.command, "mlops", self, args.rest, args)


def load_ipython_extension(ip):
    ip.register_magics(MLOpsMagics)
