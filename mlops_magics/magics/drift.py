"""%drift: Evidently drift reports between a reference and current data, saved over time
(API: ``mlops_magics.monitoring``)."""

from __future__ import annotations

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from ._base import (
    dispatch,
    document,
    finish,
    friendly_errors,
    parse_words,
    port,
    positive_int,
    share,
    split_list,
    subcommand,
    table,
    threshold,
    toggle_server,
    tokenize,
)

FRAME = (
    "a DataFrame variable, run:ID|last or models:/NAME@ALIAS (the training features), or deployment:NAME "
    "(its logged requests)"
)


def _monitoring():
    from .. import monitoring

    return monitoring


def _frame(shell, spec: str):
    """A reference string as it is (the API resolves it), else the DataFrame the variable holds."""
    from .. import refs

    if refs.is_ref(spec):
        return spec
    if not spec.isidentifier() or spec not in shell.user_ns:
        raise UsageError(
            f"{spec!r} is neither a DataFrame variable, run:ID|last, models:/NAME@ALIAS nor deployment:NAME"
        )
    return shell.user_ns[spec]


@subcommand("drift", "history")
@argument("name", help="the name checks were saved under (--save NAME)")
def _history(m, a):
    """Saved drift checks of NAME over time."""
    return _monitoring().history(a.name)


@subcommand("drift", "ui")
@argument("--port", type=port, help="default: a free port")
@argument("--stop", action="store_true", help="stop the UI this kernel started")
def _ui(m, a):
    """Start (or --stop) the Evidently UI over the workspace on 127.0.0.1."""
    return toggle_server(_monitoring().start_ui, _monitoring().stop_ui, a.port, a.stop, "Evidently UI")


@subcommand("drift", "watch")
@argument("deployment", nargs="?", metavar="deployment:NAME")
@argument("--every", default="30s", help="how often to look for new traffic, e.g. 30s, 5m (default 30s)")
@argument("--reference", help="a DataFrame variable or run:ID; default: the served model's training data")
@argument("--window", help="only requests of the last window, e.g. 1h")
@argument(
    "--min-rows", type=positive_int, default=30, help="new rows of traffic needed for a check (default 30)"
)
@argument(
    "--save",
    metavar="NAME",
    help="the Evidently project (and history) each check is saved into; default: the deployment's name",
)
@argument("--no-save", action="store_true", help="keep the checks in this kernel only")
@argument("--stop", action="store_true", help="stop the watch of deployment:NAME, or every watch")
def _watch(m, a):
    """Live drift of a deployment's traffic, recomputed in the background as new requests arrive."""
    mon = _monitoring()
    if a.stop:
        return mon.stop_watch(a.deployment)
    if not a.deployment or not a.deployment.startswith("deployment:"):
        raise UsageError(
            "%drift watch needs deployment:NAME, e.g. %drift watch deployment:credit-risk --every 30s"
        )
    reference = _frame(m.shell, a.reference) if a.reference else None
    if a.save and a.no_save:
        raise UsageError("%drift watch: give --save NAME or --no-save, not both")
    save = False if a.no_save else (a.save or True)
    return mon.watch(a.deployment, reference=reference, every=a.every, window=a.window, min_rows=a.min_rows,
                     save=save)  # fmt: skip


SUBCOMMANDS = table(_history, _ui, _watch)


@magics_class
class DriftMagics(Magics):
    @magic_arguments()
    @argument("reference", nargs="?", help=FRAME)
    @argument("current", nargs="?", help=FRAME)
    @argument("--columns", metavar="A,B", help="compare only these columns")
    @argument("--target", help="the label column, always compared (must be in both frames)")
    @argument("--prediction", help="the prediction column, always compared (must be in both frames)")
    @argument(
        "--stattest", help="Evidently's test for every column, e.g. ks, psi, wasserstein, jensenshannon"
    )
    @argument("--threshold", type=threshold, help="the test's threshold (0 or more)")
    @argument(
        "--drift-share", type=share, default=0.5, help="share of drifted columns that means dataset drift"
    )
    @argument("--window", help="with deployment:NAME, only requests of the last window, e.g. 1h")
    @argument("--save", metavar="NAME", help="add the check to the Evidently project NAME (history, UI)")
    @argument(
        "--fail", action="store_true", help="raise when drift is detected (fails a papermill or CI run)"
    )
    @argument(
        "-o", "--output", metavar="NAME", help="store the result (drift flag, share, per-column scores)"
    )
    @line_magic
    @friendly_errors
    def drift(self, line=""):
        """Data drift between a reference and current data, with Evidently.

        ::

            %drift reference_df current_df --target creditability --prediction score
            %drift training_set deployment:credit-risk --window 1h --save credit-risk --fail
            %drift run:last deployment:credit-risk --save credit-risk

        A compact summary first (verdict, share of drifted columns, per-column test, score, threshold and
        distribution), the full Evidently report below it where a live front end runs it; a PNG of the
        scores and the saved full report's path for static outputs. Frames above MLOps.drift_sample_rows
        rows are sampled with a fixed seed. With deployment:NAME the drift metrics are also logged to the
        MLflow run of the deployed model. API: ``mlops_magics.monitoring.check(reference, current, ...)``;
        the subcommands below call ``monitoring.history``, ``start_ui`` and ``watch``.
        """
        words = tokenize(line)
        if words and words[0] in SUBCOMMANDS:
            return dispatch(self, "drift", SUBCOMMANDS, words)
        args = parse_words(self.drift, words, "drift")
        if args is None:
            return None
        if not (args.reference and args.current):
            raise UsageError(
                "%drift needs a reference and current data, e.g. %drift train_df new_df; see %drift?"
            )
        from ..errors import DriftDetected

        try:
            result = _monitoring().check(
                _frame(self.shell, args.reference), _frame(self.shell, args.current),
                columns=split_list(args.columns), target=args.target, prediction=args.prediction,
                stattest=args.stattest, threshold=args.threshold, drift_share=args.drift_share, window=args.window,
                save=args.save, fail=args.fail,
            )  # fmt: skip
        except DriftDetected as exc:  # the check is shown (and stored), then the cell fails
            display(finish(self.shell, args.output, exc.result))
            raise
        return finish(self.shell, args.output, result)


document(DriftMagics.drift, SUBCOMMANDS)


def load_ipython_extension(ip):
    ip.register_magics(DriftMagics)
