"""%track and %%track: MLflow runs from a notebook."""

from __future__ import annotations

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from ._base import (
    csv_names,
    dispatch,
    friendly_errors,
    parse,
    parse_sub,
    run_cell_body,
    split,
    store,
    subparser,
)


def _tracking():
    from .. import tracking

    return tracking


# -- %track SUBCOMMAND ... --------------------------------------------------------------------------------
def _start(m, rest):
    p = subparser("%track start", "Open a run that spans cells; close it with %track end.")
    p.add_argument("name", nargs="?")
    p.add_argument("--experiment", "-e")
    a = parse_sub(p, rest)
    import mlflow

    if mlflow.active_run() is not None:
        raise UsageError(
            f"run {mlflow.active_run().info.run_id} is still open; close it with %track end first"
        )
    run_id = _tracking().start_run(a.name, a.experiment, user_ns=m.shell.user_ns)
    return store(m.shell, a.output, _tracking().get_run(run_id))


def _open_run_id() -> str:
    import mlflow

    run = mlflow.active_run()
    if run is None:
        raise UsageError("no run is open; start one with %track start NAME (or use %%track on a cell)")
    return run.info.run_id


def _log(m, rest):
    run_id = _open_run_id()
    kinds = {"param": "params", "params": "params", "metric": "metrics", "metrics": "metrics", "tag": "tags",
             "tags": "tags"}  # fmt: skip
    values: dict[str, dict] = {"params": {}, "metrics": {}, "tags": {}}
    kind = None
    for word in rest:
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
    _tracking().log(run_id, **values)
    return _tracking().get_run(run_id)


def _end(m, rest):
    p = subparser("%track end", "Close the run opened by %track start.")
    p.add_argument("--status", default="FINISHED", choices=["FINISHED", "FAILED", "KILLED"])
    a = parse_sub(p, rest)
    return store(m.shell, a.output, _tracking().end_run(_open_run_id(), a.status))


def _runs(m, rest):
    p = subparser("%track runs", "A table of runs, newest first.")
    p.add_argument("--experiment", "-e")
    p.add_argument("--last", type=int, default=20)
    a = parse_sub(p, rest)
    return store(m.shell, a.output, _tracking().search_runs(a.experiment, a.last))


def _show(m, rest):
    p = subparser("%track show", "The card of one run.")
    p.add_argument("run", help="run id, run name, or last")
    a = parse_sub(p, rest)
    return store(m.shell, a.output, _tracking().resolve_run(a.run))


def _compare(m, rest):
    p = subparser("%track compare", "Two runs' params and metrics side by side.")
    p.add_argument("a")
    p.add_argument("b")
    a = parse_sub(p, rest)
    return store(m.shell, a.output, _tracking().compare(a.a, a.b))


def _register(m, rest):
    p = subparser("%track register", "Register a run's model as a new version, optionally with an alias.")
    p.add_argument("run", help="run id, run name, or last")
    p.add_argument("--name", required=True)
    p.add_argument("--alias")
    a = parse_sub(p, rest)
    t = _tracking()
    return store(m.shell, a.output, t.register(t.resolve_run(a.run), a.name, a.alias))


def _models(m, rest):
    a = parse_sub(subparser("%track models", "Registered models and their aliases."), rest)
    return store(m.shell, a.output, _tracking().list_models())


def _ui(m, rest):
    from ..tracking import ui

    p = subparser("%track ui", "Start (or --stop) the MLflow UI on 127.0.0.1.", output=False)
    p.add_argument("--port", type=int)
    p.add_argument("--stop", action="store_true")
    a = parse_sub(p, rest)
    if a.stop:
        print("MLflow UI stopped" if ui.stop_ui() else "the MLflow UI was not running")
        return None
    server = ui.start_ui(a.port)
    print(f"MLflow UI: {server.url}  (log: {server.log_path}; stop with %track ui --stop)")
    return None


SUBCOMMANDS = {
    "start": _start, "log": _log, "end": _end, "runs": _runs, "show": _show, "compare": _compare,
    "register": _register, "models": _models, "ui": _ui,
}  # fmt: skip


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
        package versions.

        As a line magic::

            %track start NAME [-e EXPERIMENT]      open a run across cells
            %track log param C=1.0 metric auc=0.91 tag k=v
            %track end [--status FAILED]
            %track runs [-e EXPERIMENT] [--last N]
            %track show RUN | compare RUN_A RUN_B  (RUN: id, name or last)
            %track register RUN --name NAME [--alias champion]
            %track models
            %track ui [--port P] [--stop]
        """
        if cell is None:
            words = split(line)
            if not words:
                raise UsageError("%track needs a subcommand: " + ", ".join(SUBCOMMANDS) + "; see %track?")
            return dispatch(SUBCOMMANDS, words[0], "track", self, words[1:])
        args = parse(self.track, line, "track")
        if args.name in SUBCOMMANDS:
            raise UsageError(
                f"%%track {args.name}: {args.name!r} is a %track subcommand; as a cell magic "
                "%%track takes a run name, e.g. %%track baseline"
            )
        store(self.shell, args.output, None)  # a bad -o NAME is refused before the cell runs
        tags = {}
        for kv in args.tag:
            key, eq, value = kv.partition("=")
            if not eq or not key:
                raise UsageError(f"--tag {kv!r}: type --tag key=value")
            tags[key] = value
        t = _tracking()
        try:
            result, value = t.tracked(
                lambda: run_cell_body(self.shell, cell),
                name=args.name, experiment=args.experiment, user_ns=self.shell.user_ns, cell=cell,
                params=csv_names(args.params, "--params"), metrics=csv_names(args.metrics, "--metrics"),
                model=args.model, model_input=args.input, autolog=args.autolog, tags=tags,
            )  # fmt: skip
        except BaseException:
            failed = t.last_run()
            if failed is not None:
                display(failed)
            raise
        store(self.shell, args.output, result)
        display(result)
        return value


def load_ipython_extension(ip):
    ip.register_magics(TrackMagics)
