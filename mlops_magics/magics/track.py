"""%track and %%track: MLflow runs from a notebook (API: ``mlops_magics.tracking``)."""

from __future__ import annotations

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from ._base import (
    check_output,
    csv_names,
    dispatch_line,
    document,
    finish,
    friendly_errors,
    parse,
    port,
    positive_int,
    run_cell_body,
    split_list,
    subcommand,
    table,
    toggle_server,
)


def _tracking():
    from .. import tracking

    return tracking


def _open_run_id() -> str:
    import mlflow

    run = mlflow.active_run()
    if run is None:
        raise UsageError("no run is open; start one with %track start NAME (or use %%track on a cell)")
    return run.info.run_id


def _key_values(items: list[str], option: str) -> dict[str, str]:
    """``["team=risk", "k=v"]`` -> {"team": "risk", "k": "v"}."""
    out = {}
    for kv in items:
        key, eq, value = kv.partition("=")
        if not eq or not key:
            raise UsageError(f"{option} {kv!r}: type {option} key=value")
        out[key] = value
    return out


@subcommand("track", "start")
@argument("name", nargs="?", help="run name")
@argument("-e", "--experiment", help="MLflow experiment (created if missing)")
def _start(m, a):
    """Open a run that spans cells; close it with %track end."""
    import mlflow

    if mlflow.active_run() is not None:
        raise UsageError(
            f"run {mlflow.active_run().info.run_id} is still open; close it with %track end first"
        )
    t = _tracking()
    return t.get_run(t.start_run(a.name, a.experiment, user_ns=m.shell.user_ns))


@subcommand("track", "log")
@argument("items", nargs="*", metavar="KIND KEY=VALUE", help="param|metric|tag, then KEY=VALUE pairs")
@argument("--step", type=int, help="the metrics' step (default: each metric's next step, from 0)")
def _log(m, a):
    """Log params, metrics and tags into the open run: %track log param C=1.0 metric auc=0.91 tag team=risk"""
    kinds = {"param": "params", "params": "params", "metric": "metrics", "metrics": "metrics", "tag": "tags",
             "tags": "tags"}  # fmt: skip
    values: dict[str, dict] = {"params": {}, "metrics": {}, "tags": {}}
    kind = None
    for word in a.items:
        if word in kinds:
            kind = kinds[word]
            continue
        key, eq, raw = word.partition("=")
        if kind is None or not eq or not key:
            raise UsageError(
                f"cannot read {word!r}; type e.g. %track log param C=1.0 metric auc=0.91 tag team=risk"
            )
        if kind == "metrics":
            try:
                raw = float(raw)
            except ValueError:
                raise UsageError(f"metric {key!r} must be a number, got {raw!r}") from None
        values[kind][key] = raw
    if not any(values.values()):
        raise UsageError("nothing to log; type e.g. %track log param C=1.0 metric auc=0.91")
    run_id = _open_run_id()
    _tracking().log(run_id, **values, step=a.step)
    return _tracking().LoggedRun(run_id, _tracking().get_run)  # read back only if shown: loops log fast


@subcommand("track", "end")
@argument("--status", default="FINISHED", choices=["FINISHED", "FAILED", "KILLED"])
def _end(m, a):
    """Close the run opened by %track start."""
    return _tracking().end_run(_open_run_id(), a.status)


@subcommand("track", "runs")
@argument("-e", "--experiment", help="only this experiment")
@argument("--last", type=positive_int, default=20, help="how many runs, newest first (default 20)")
def _runs(m, a):
    """A table of runs, newest first."""
    return _tracking().search_runs(a.experiment, a.last)


@subcommand("track", "show")
@argument("run", help="run id, run name, or last")
def _show(m, a):
    """The card of one run."""
    return _tracking().resolve_run(a.run)


@subcommand("track", "compare")
@argument("a", metavar="RUN_A")
@argument("b", metavar="RUN_B")
def _compare(m, a):
    """Two runs' params and metrics side by side."""
    return _tracking().compare(a.a, a.b)


@subcommand("track", "register")
@argument("run", help="run id, run name, or last")
@argument("--name", required=True, help="registered model name, e.g. credit-risk")
@argument("--alias", help="an alias for the new version, e.g. champion")
def _register(m, a):
    """Register a run's model as a new version, optionally with an alias."""
    t = _tracking()
    return t.register(t.resolve_run(a.run), a.name, a.alias)


@subcommand("track", "models")
def _models(m, a):
    """Registered models and their aliases."""
    return _tracking().list_models()


@subcommand("track", "ui")
@argument("--port", type=port, help="default: a free port")
@argument("--host", default="127.0.0.1",
          help="address to bind (default 127.0.0.1); 0.0.0.0 lets other machines use the server")  # fmt: skip
@argument("--stop", action="store_true", help="stop the UI this kernel started")
def _ui(m, a):
    """Start (or --stop) the MLflow tracking server and UI over the store in force (artifacts served)."""
    t = _tracking()
    return toggle_server(lambda p: t.start_ui(p, host=a.host), t.stop_ui, a.port, a.stop, "MLflow UI")


SUBCOMMANDS = table(_start, _log, _end, _runs, _show, _compare, _register, _models, _ui)


@magics_class
class TrackMagics(Magics):
    @magic_arguments()
    @argument(
        "name",
        nargs="?",
        help="run name (cell magic), or a subcommand (line magic): " + ", ".join(SUBCOMMANDS),
    )
    @argument("-e", "--experiment", help="MLflow experiment (created if missing); default: Default")
    @argument("--autolog", action="store_true", help="MLflow autologging for the libraries the cell uses")
    @argument("--params", metavar="A,B", help="namespace variables to log as params after the cell")
    @argument("--metrics", metavar="A,B", help="namespace variables to log as metrics after the cell")
    @argument("--model", metavar="VAR", help="a fitted model in the namespace to log as an MLflow model")
    @argument(
        "--input", metavar="VAR", help="features for the model's signature/example; default: what .fit() got"
    )
    @argument("--tag", action="append", default=[], metavar="K=V", help="a tag for the run (repeatable)")
    @argument("--features", metavar="VIEW,VIEW", help="the feature views the cell trains on (their current versions); "
              "'none' for none; default: this kernel's latest %%feature get of each view")  # fmt: skip
    @argument("-o", "--output", metavar="NAME", help="store the result object in this variable")
    @line_cell_magic
    @friendly_errors
    def track(self, line="", cell=None):
        """Track a cell as an MLflow run, or manage runs and models.

        As a cell magic::

            %%track baseline --experiment credit-risk --params C --metrics auc --model model
            model = LogisticRegression(C=C).fit(X_train, y_train)
            auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])

        The run is FINISHED when the cell succeeds, FAILED when it raises, KILLED when interrupted; it
        records the notebook, the cell (artifact and hash), the git commit, papermill parameters and
        package versions. API: ``mlops_magics.tracking.tracked``; the subcommands below call
        ``tracking.start_run``, ``log``, ``end_run``, ``search_runs``, ``resolve_run``, ``compare``,
        ``register``, ``list_models`` and ``start_ui``.
        """
        if cell is None:
            return dispatch_line(self, "track", SUBCOMMANDS, line)
        args = parse(self.track, line, "track")
        if args is None:
            return None
        if args.name in SUBCOMMANDS:
            raise UsageError(
                f"%%track {args.name}: {args.name!r} is a %track subcommand; as a cell magic "
                "%%track takes a run name, e.g. %%track baseline"
            )
        check_output(args.output)  # a bad -o NAME is refused before the cell runs
        tags = _key_values(args.tag, "--tag")
        features = None
        if args.features:
            from ..features import lineage_of

            features = [] if args.features == "none" else lineage_of(split_list(args.features))
        t = _tracking()
        try:
            result, value = t.tracked(
                lambda: run_cell_body(self.shell, cell),
                name=args.name, experiment=args.experiment, user_ns=self.shell.user_ns, cell=cell,
                params=csv_names(args.params, "--params"), metrics=csv_names(args.metrics, "--metrics"),
                model=args.model, model_input=args.input, autolog=args.autolog, tags=tags, features=features,
            )  # fmt: skip
        except BaseException:
            failed = t.last_run()
            if failed is not None:
                display(failed)
            raise
        display(finish(self.shell, args.output, result))
        return value


document(TrackMagics.track, SUBCOMMANDS)


def load_ipython_extension(ip):
    ip.register_magics(TrackMagics)
