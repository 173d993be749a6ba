"""%%feature and %feature: Feast feature views from a notebook (API: ``mlops_magics.features``)."""

from __future__ import annotations

from datetime import datetime, timezone

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from ._base import (
    check_output,
    dispatch_line,
    document,
    finish,
    friendly_errors,
    parse,
    port,
    run_cell_body,
    split_list,
    subcommand,
    table,
    toggle_server,
    variable,
)


def _features():
    from .. import features

    return features


@subcommand("feature", "list")
def _list(m, a):
    """The feature views in the workspace."""
    return _features().list_views()


@subcommand("feature", "show")
@argument("name", metavar="VIEW")
def _show(m, a):
    """The card of one feature view."""
    return _features().show(a.name)


@subcommand("feature", "get")
@argument("refs", nargs="+", metavar="VIEW[:f1,f2]")
@argument("--entities", required=True, metavar="DF", help="DataFrame of entity keys and event timestamps")
def _get(m, a):
    """A point-in-time correct training set (a DataFrame)."""
    return _features().historical(a.refs, variable(m.shell, a.entities, f"--entities {a.entities}"))


@subcommand("feature", "online")
@argument("refs", nargs="+", metavar="VIEW[:f1,f2]")
@argument("--entity", action="append", required=True, metavar="KEY=VALUE",
          help="an entity to look up (repeatable); VALUE may be a comma list")  # fmt: skip
def _online(m, a):
    """Latest feature values from the online store (a DataFrame)."""
    return _features().online(a.refs, _entity_rows(a.entity))


def _entity_rows(specs: list[str]) -> list[dict]:
    columns: dict[str, list] = {}
    for spec in specs:
        key, eq, value = spec.partition("=")
        if not eq or not key:
            raise UsageError(f"--entity {spec!r}: type --entity applicant_id=17")
        columns.setdefault(key, []).extend(_literal(v) for v in value.split(","))
    lengths = {len(v) for v in columns.values()}
    if len(lengths) != 1:
        raise UsageError("--entity lists must have the same length for every key")
    n = lengths.pop()
    return [{k: v[i] for k, v in columns.items()} for i in range(n)]


def _literal(text: str):
    try:
        return int(text)
    except ValueError:
        return text


@subcommand("feature", "materialize")
@argument("--since", help="ISO date/time; default: since the last materialization")
@argument("--views", metavar="A,B", help="comma-separated views; default: all")
def _materialize(m, a):
    """Load offline data into the online store."""
    since = None
    if a.since:
        try:
            since = datetime.fromisoformat(a.since)
        except ValueError:
            raise UsageError(f"--since {a.since!r}: type an ISO date, e.g. --since 2024-01-31") from None
        since = since if since.tzinfo else since.replace(tzinfo=timezone.utc)
    return _features().materialize(since, split_list(a.views))


@subcommand("feature", "delete")
@argument("name", metavar="VIEW")
def _delete(m, a):
    """Delete a feature view explicitly."""
    return _features().delete(a.name)


@subcommand("feature", "ui")
@argument("--port", type=port, help="default: a free port")
@argument("--stop", action="store_true", help="stop the UI this kernel started")
def _ui(m, a):
    """Start (or --stop) Feast's own web UI over the workspace on 127.0.0.1."""
    return toggle_server(_features().start_ui, _features().stop_ui, a.port, a.stop, "Feast UI")


SUBCOMMANDS = table(_list, _show, _get, _online, _materialize, _delete, _ui)


@magics_class
class FeatureMagics(Magics):
    @magic_arguments()
    @argument("name", nargs="?", help="feature view name (cell magic), or a subcommand (line magic)")
    @argument("--entity", help="entity key column, e.g. applicant_id")
    @argument("--timestamp", help="event timestamp column, e.g. event_timestamp")
    @argument(
        "--ttl", help="how long a value stays valid for training sets: 90d, 12h, ...; default: no limit"
    )
    @argument(
        "--from", dest="source", metavar="VAR", help="register this DataFrame instead of the cell's value"
    )
    @argument("--description", default="", help="a description for the feature view")
    @argument("--apply", action="store_true", help="apply the Feast objects the cell defines (Mode 2)")
    @argument("--plan", action="store_true", help="show what would change; apply nothing")
    @argument("--no-materialize", action="store_true", help="register without loading the online store")
    @argument("--clean-names", action="store_true",
              help="rename columns that are not valid feature names (e.g. 'od280/od315' -> od280_od315); "
              "the mapping is shown and kept on the view")  # fmt: skip
    @argument("-o", "--output", metavar="NAME", help="store the result object in this variable")
    @line_cell_magic
    @friendly_errors
    def feature(self, line="", cell=None):
        """Feast feature views from a notebook cell.

        Mode 1, a DataFrame (the cell's last expression, or --from VAR)::

            %%feature applicant_profile --entity applicant_id --timestamp event_timestamp --ttl 90d
            applicants[["applicant_id", "event_timestamp", "age", "credit_amount"]]

        Mode 2, Feast definitions: ``%%feature --apply`` applies every Feast object the cell defines.
        Every apply shows its plan first; ``--plan`` shows it and applies nothing. Nothing is deleted
        unless you ask. API: ``mlops_magics.features.register_frame`` and ``apply_objects``; the
        subcommands below call ``list_views``, ``show``, ``historical``, ``online``, ``materialize``,
        ``delete`` and ``start_ui``.
        """
        if cell is None:
            return dispatch_line(self, "feature", SUBCOMMANDS, line)
        args = parse(self.feature, line, "feature")
        if args is None:
            return None
        check_output(args.output)  # a bad -o NAME is refused before the cell runs
        if args.apply:
            return self._apply_definitions(cell, args)
        if not args.name:
            raise UsageError(
                "%%feature needs a view name, e.g. %%feature applicant_profile --entity ID --timestamp TS"
            )
        if not (args.entity and args.timestamp):
            raise UsageError("%%feature NAME needs --entity COLUMN and --timestamp COLUMN")
        from .. import durations
        from ..features.frames import check_name

        check_name(args.name)  # before the cell runs

        ttl = durations.parse(args.ttl, "--ttl", zero_is_none=True)
        value = run_cell_body(self.shell, cell)
        if args.source:
            value = variable(self.shell, args.source, f"--from {args.source}")
        result = _features().register_frame(
            value, args.name, args.entity, args.timestamp, ttl=ttl, description=args.description,
            plan_only=args.plan, materialize=not args.no_materialize, clean_names=args.clean_names,
        )  # fmt: skip
        display(finish(self.shell, args.output, result))

    def _apply_definitions(self, cell, args):
        from ..features.views import kind_of

        before = {k: id(v) for k, v in self.shell.user_ns.items()}
        run_cell_body(self.shell, cell)
        objects = [
            v for k, v in self.shell.user_ns.items()
            if (k not in before or before[k] != id(v)) and not k.startswith("_") and kind_of(v) is not None
        ]  # fmt: skip
        display(finish(self.shell, args.output, _features().apply_objects(objects, plan_only=args.plan)))


document(FeatureMagics.feature, SUBCOMMANDS)


def load_ipython_extension(ip):
    ip.register_magics(FeatureMagics)
