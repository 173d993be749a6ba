"""%mlops: the workspace — its summary, creating it, lineage, and pipelines (API: ``mlops_magics.status``,
``lineage``, ``pipelines``)."""

from __future__ import annotations

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..errors import one_line
from ._base import (
    HELP,
    check_output,
    dispatch,
    document,
    finish,
    friendly_errors,
    subcommand,
    table,
    tokenize,
)


@subcommand("mlops", "status")
def _status(m, a):
    """Summary of the workspace: backends in force and counts of what it holds."""
    from ..status import workspace_status

    return workspace_status()


@subcommand("mlops", "init")
@argument("path", nargs="?", help="folder for the workspace; default: the one in force")
def _init(m, a):
    """Create the workspace (magics create it when first needed) and work in it."""
    from ..status import init

    return init(a.path)


@subcommand("mlops", "lineage")
@argument("ref", help="models:/NAME@ALIAS, models:/NAME/VERSION, deployment:NAME or run:ID|last")
def _lineage(m, a):
    """The chain around a model, deployment or run: feature views -> run -> versions -> deployments -> drift."""
    from ..lineage import lineage

    return lineage(a.ref)


SUBCOMMANDS = table(_status, _init, _lineage)


def _click_params(command, prog: str, words: list[str]) -> tuple[dict | None, str | None]:
    """Parse ``words`` with the CLI command itself, so ``%mlops run`` takes exactly its arguments, plus
    ``-o NAME``; (params or None after --help, output name)."""
    import click

    words, output = list(words), None
    for flag in ("-o", "--output"):
        while flag in words:
            i = words.index(flag)
            if i + 1 >= len(words):
                raise UsageError(f"{prog}: {flag} takes a variable name")
            output = words[i + 1]
            del words[i : i + 2]
    check_output(output)
    try:
        return command.make_context(prog, words).params, output
    except click.exceptions.Exit:  # --help printed
        return None, output
    except click.ClickException as exc:
        raise UsageError(f"{prog}: {one_line(exc.format_message())} (type {prog} --help)") from None


def _pipeline(magics, name: str, words: list[str]):
    """``%mlops run`` / ``%mlops reproduce``: the CLI's own commands, one API call each. A failed step
    shows the result and raises (so a notebook running a pipeline fails too)."""
    from IPython.display import display

    from .. import cli, pipelines
    from ..errors import PipelineFailed
    from ..pipelines.params import parse_overrides

    prog = f"%mlops {name}"
    p, output = _click_params(cli.run if name == "run" else cli.reproduce, prog, words)
    if p is None:
        return None
    if name == "run":
        result = pipelines.run(p["target"], parse_overrides(p["parameters"]), engine=p["engine"],
                               progress=not p["no_progress"], parallel=p["parallel"], timeout=p["timeout"],
                               experiment=p["experiment"], compile_to=p["compile_to"], host=p["host"],
                               base_image=p["base_image"], env=list(p["env"]) or None,
                               secrets=list(p["secrets"]) or None)  # fmt: skip
        failures = result.failures
    else:
        result = pipelines.reproduce(p["run_id"], rtol=p["rtol"], parallel=p["parallel"] or 1,
                                     progress=not p["no_progress"])  # fmt: skip
        failures = result.new.failures
    result = finish(magics.shell, output, result)
    if failures:
        display(result)
        raise PipelineFailed(failures)
    return result


PIPELINES = ("run", "reproduce")


@magics_class
class MLOpsMagics(Magics):
    @magic_arguments()
    @argument("command", nargs="?", default="status",
              help="status (default), init, lineage, run, reproduce; each takes --help")  # fmt: skip
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
        Settings: ``%config MLOps``. API: ``mlops_magics.status.workspace_status``, ``status.init``,
        ``lineage.lineage``, ``pipelines.run``, ``pipelines.reproduce``.
        """
        words = tokenize(line)
        if not words or (words[0].startswith("-") and words[0] not in HELP):
            words = ["status", *words]
        if words[0] in PIPELINES:
            return _pipeline(self, words[0], words[1:])
        return dispatch(self, "mlops", SUBCOMMANDS, words, PIPELINES)


document(MLOpsMagics.mlops, SUBCOMMANDS)
MLOpsMagics.mlops.__doc__ += "  %mlops run NOTEBOOK|PIPELINE.yaml [-p NAME VALUE ...] [--engine E] ... (see %mlops run --help)\n" \
                             "  %mlops reproduce RUN_ID [--rtol R] [--parallel N] (see %mlops reproduce --help)\n"  # fmt: skip


def load_ipython_extension(ip):
    ip.register_magics(MLOpsMagics)
