"""``mlops-magics``: the console face of the same API the magics call."""

from __future__ import annotations

import click

from ._version import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    from .status import workspace_status
    from .workspace import init as init_ws

    ws = init_ws(path)
    click.echo(f"workspace ready: {ws.root}")
    if path:
        from .config import get_config

        get_config().home = str(ws.root)
    click.echo(workspace_status().card().to_text())


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

    from .errors import UserInputError
    from .lineage import lineage as walk

    try:
        chain = walk(ref)
    except UserInputError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(json.dumps(chain.to_dict(), indent=2) if as_json else chain.to_text())


@main.command()
@click.option("--data-path", default="", help="A credit CSV; default: the German Credit data.")
@click.option("--target", default="creditability", show_default=True, help="The label column.")
@click.option("--positive-label", default="bad", show_default=True, help="The class that means bad risk.")
def demo(data_path, target, positive_label):
    """Run the credit-risk notebooks end to end on the embedded defaults and print a summary."""
    from .demo import format_summary, run_demo

    click.echo(format_summary(run_demo(data_path, target, positive_label)))


if __name__ == "__main__":  # pragma: no cover
    main()
