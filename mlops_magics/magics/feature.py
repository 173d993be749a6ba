"""%%feature and %feature: Feast feature views from a notebook."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from ._base import (
    dispatch,
    friendly_errors,
    parse,
    parse_sub,
    run_cell_body,
    split,
    store,
    subparser,
    variable,
)

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_ttl(text: str | None) -> timedelta | None:
    if not text or text == "0":
        return None
    m = re.fullmatch(r"(\d+)([smhdw])", text.strip())
    if not m:
        raise UsageError(f"--ttl {text!r}: type a number and a unit, e.g. --ttl 90d (s, m, h, d, w)")
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


def _features():
    from .. import features

    return features


def _list(m, rest):
    a = parse_sub(subparser("%feature list", "The feature views in the workspace."), rest)
    return store(m.shell, a.output, _features().list_views())


def _show(m, rest):
    p = subparser("%feature show", "The card of one feature view.")
    p.add_argument("name")
    a = parse_sub(p, rest)
    return store(m.shell, a.output, _features().show(a.name))


def _get(m, rest):
    p = subparser("%feature get", "A point-in-time correct training set.")
    p.add_argument("refs", nargs="+", metavar="VIEW[:f1,f2]")
    p.add_argument(
        "--entities", required=True, metavar="DF", help="DataFrame of entity keys and event timestamps"
    )
    a = parse_sub(p, rest)
    df = _features().historical(a.refs, variable(m.shell, a.entities, f"--entities {a.entities}"))
    store(m.shell, a.output, df)
    return None if a.output else df


def _online(m, rest):
    p = subparser("%feature online", "Latest feature values from the online store.")
    p.add_argument("refs", nargs="+", metavar="VIEW[:f1,f2]")
    p.add_argument("--entity", action="append", required=True, metavar="KEY=VALUE",
                   help="an entity to look up (repeatable); VALUE may be a comma list")  # fmt: skip
    a = parse_sub(p, rest)
    rows = _entity_rows(a.entity)
    import pandas as pd

    result = pd.DataFrame(_features().online(a.refs, rows))
    store(m.shell, a.output, result)
    return None if a.output else result


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


def _materialize(m, rest):
    p = subparser("%feature materialize", "Load offline data into the online store.", output=False)
    p.add_argument("--since", help="ISO date/time; default: since the last materialization")
    p.add_argument("--views", help="comma-separated views; default: all")
    a = parse_sub(p, rest)
    since = None
    if a.since:
        try:
            since = datetime.fromisoformat(a.since)
        except ValueError:
            raise UsageError(f"--since {a.since!r}: type an ISO date, e.g. --since 2024-01-31") from None
        since = since if since.tzinfo else since.replace(tzinfo=timezone.utc)
    views = [v.strip() for v in a.views.split(",")] if a.views else None
    names = _features().materialize(since, views)
    print(f"materialized: {', '.join(names) or 'no views'}")


def _delete(m, rest):
    p = subparser("%feature delete", "Delete a feature view explicitly.", output=False)
    p.add_argument("name")
    a = parse_sub(p, rest)
    print(f"deleted feature view {_features().delete(a.name)}")


SUBCOMMANDS = {"list": _list, "show": _show, "get": _get, "online": _online, "materialize": _materialize,
               "delete": _delete}  # fmt: skip


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
        unless you ask.

        As a line magic::

            %feature list
            %feature show VIEW
            %feature get VIEW:f1,f2 [VIEW2 ...] --entities ENTITY_DF -o train_df
            %feature online VIEW:f1,f2 --entity applicant_id=17[,18] [-o NAME]
            %feature materialize [--since 2024-01-01] [--views a,b]
            %feature delete VIEW
        """
        if cell is None:
            words = split(line)
            if not words:
                raise UsageError("%feature needs a subcommand: " + ", ".join(SUBCOMMANDS) + "; see %feature?")
            return dispatch(SUBCOMMANDS, words[0], "feature", self, words[1:])
        args = parse(self.feature, line, "feature")
        store(self.shell, args.output, None)  # a bad -o NAME is refused before the cell runs
        if args.apply:
            return self._apply_definitions(cell, args)
        if not args.name:
            raise UsageError(
                "%%feature needs a view name, e.g. %%feature applicant_profile --entity ID --timestamp TS"
            )
        if not (args.entity and args.timestamp):
            raise UsageError("%%feature NAME needs --entity COLUMN and --timestamp COLUMN")
        ttl = parse_ttl(args.ttl)
        value = run_cell_body(self.shell, cell)
        if args.source:
            value = variable(self.shell, args.source, f"--from {args.source}")
        result = _features().register_frame(
            value, args.name, args.entity, args.timestamp, ttl=ttl, description=args.description,
            plan_only=args.plan, materialize=not args.no_materialize,
        )  # fmt: skip
        store(self.shell, args.output, result)
        display(result)

    def _apply_definitions(self, cell, args):
        from ..features.views import kind_of

        before = {k: id(v) for k, v in self.shell.user_ns.items()}
        run_cell_body(self.shell, cell)
        objects = [
            v for k, v in self.shell.user_ns.items()
            if (k not in before or before[k] != id(v)) and not k.startswith("_") and kind_of(v) is not None
        ]  # fmt: skip
        result = _features().apply_objects(objects, plan_only=args.plan)
        store(self.shell, args.output, result)
        display(result)


def load_ipython_extension(ip):
    ip.register_magics(FeatureMagics)
