"""%drift: Evidently drift reports between a reference and current data, saved over time."""

from __future__ import annotations

import re
from datetime import timedelta

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from ._base import dispatch, friendly_errors, parse, parse_sub, split, store, subparser

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _window(text: str | None) -> timedelta | None:
    if not text:
        return None
    m = re.fullmatch(r"(\d+)([smhd])", text)
    if not m:
        raise UsageError(f"--window {text!r}: type a number and a unit, e.g. --window 1h (s, m, h, d)")
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


def _history(m, rest):
    p = subparser("%drift history", "Saved drift checks of NAME over time.")
    p.add_argument("name")
    a = parse_sub(p, rest)
    from ..monitoring import history

    return store(m.shell, a.output, history(a.name))


def _ui(m, rest):
    p = subparser("%drift ui", "Start the Evidently UI over the workspace on 127.0.0.1.", output=False)
    p.add_argument("--port", type=int)
    p.add_argument("--stop", action="store_true")
    a = parse_sub(p, rest)
    from .. import servers
    from ..monitoring.history import UI, start_ui

    if a.stop:
        print("Evidently UI stopped" if servers.stop(UI) else "the Evidently UI was not running")
        return
    server = start_ui(a.port)
    print(f"Evidently UI: {server.url}  (log: {server.log_path}; stop with %drift ui --stop)")


def _watch(m, rest):
    p = subparser("%drift watch", "Live drift of a deployment's traffic, recomputed in the background.")
    p.add_argument("deployment", nargs="?", metavar="deployment:NAME")
    p.add_argument("--every", default="30s", help="how often to recompute, e.g. 30s, 5m")
    p.add_argument(
        "--reference", help="a DataFrame variable or run:ID; default: the served model's training data"
    )
    p.add_argument("--window", help="only requests of the last window, e.g. 1h")
    p.add_argument("--min-rows", type=int, default=30, help="rows of traffic needed before a check")
    p.add_argument("--stop", action="store_true", help="stop the watch of deployment:NAME, or every watch")
    a = parse_sub(p, rest)
    from ..monitoring import watch

    name = (
        a.deployment.split(":", 1)[1]
        if a.deployment and a.deployment.startswith("deployment:")
        else a.deployment
    )
    if a.stop:
        stopped = watch.stop(name)
        print(f"stopped watching: {', '.join(stopped) or 'nothing was watched'}")
        return None
    if not a.deployment or not a.deployment.startswith("deployment:"):
        raise UsageError(
            "%drift watch needs deployment:NAME, e.g. %drift watch deployment:credit-risk --every 30s"
        )
    every = _window(a.every)
    from ..serving import local

    dep = local.get(name)
    if dep.status != "READY":
        raise UsageError(f"deployment {name!r} is {dep.status}; there is no traffic to watch")
    if a.reference:
        reference, _ = m._frame(a.reference, None)
    elif dep.run_id:
        from ..monitoring.training import training_features

        reference, _ = training_features(dep.run_id)
    else:
        raise UsageError("the deployment's model has no run to take training data from; pass --reference VAR")
    result = watch.start(
        name, reference, every=every.total_seconds(), window=_window(a.window), min_rows=a.min_rows
    )
    return store(m.shell, a.output, result)


SUBCOMMANDS = {"history": _history, "ui": _ui, "watch": _watch}


@magics_class
class DriftMagics(Magics):
    @magic_arguments()
    @argument("reference", nargs="?", help="a DataFrame variable, run:ID|last (its training features), or "
              "deployment:NAME (its logged requests)")  # fmt: skip
    @argument("current", nargs="?", help="a DataFrame variable, run:ID|last, or deployment:NAME")
    @argument("--columns", metavar="A,B", help="compare only these columns")
    @argument("--target", help="the label column, compared too (must be in both frames)")
    @argument("--prediction", help="the prediction column, compared too (must be in both frames)")
    @argument(
        "--stattest", help="Evidently's test for every column, e.g. ks, psi, wasserstein, jensenshannon"
    )
    @argument("--threshold", type=float, help="the test's threshold")
    @argument(
        "--drift-share", type=float, default=0.5, help="share of drifted columns that means dataset drift"
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
            %drift watch deployment:credit-risk --every 30s    (and %drift watch --stop)
            %drift history credit-risk
            %drift ui [--port P] [--stop]

        A compact summary first (verdict, share of drifted columns, per-column test, score, threshold and
        distribution), the full Evidently report below it where a live front end runs it; a PNG of the
        scores and the saved full report's path for static outputs. Frames above MLOps.drift_sample_rows
        rows are sampled with a fixed seed. With deployment:NAME the drift metrics are also logged to the
        MLflow run of the deployed model.
        """
        words = split(line)
        if words and words[0] in SUBCOMMANDS:
            return dispatch(SUBCOMMANDS, words[0], "drift", self, words[1:])
        args = parse(self.drift, line, "drift")
        store(self.shell, args.output, None)
        if not (args.reference and args.current):
            raise UsageError(
                "%drift needs a reference and current data, e.g. %drift train_df new_df; see %drift?"
            )
        window = _window(args.window)
        ref, ref_meta = self._frame(args.reference, window)
        cur, cur_meta = self._frame(args.current, window)
        columns = [c.strip() for c in args.columns.split(",")] if args.columns else None
        if columns and (args.target or args.prediction):
            columns += [c for c in (args.target, args.prediction) if c and c not in columns]
        from ..monitoring import drift
        from ..monitoring.drift import DriftDetected

        meta = {**ref_meta, **cur_meta}
        result = drift(ref, cur, columns=columns, stattest=args.stattest, threshold=args.threshold,
                       drift_share=args.drift_share, name=args.save, metadata=meta)  # fmt: skip
        if args.save:
            from ..monitoring.history import save

            save(result, args.save)
        if meta.get("run_id"):
            from ..monitoring.lineage import log_to_run

            log_to_run(result, meta["run_id"])
        store(self.shell, args.output, result)
        display(result)
        if args.fail and result.dataset_drift:
            raise DriftDetected(f"{result.drifted_columns} of {len(result.columns)} columns drifted "
                                f"({', '.join(result.drifted)}); report: {result.report_path}")  # fmt: skip

    def _frame(self, spec: str, window):
        if spec.startswith("deployment:"):
            from ..serving import local

            name = spec.split(":", 1)[1]
            frame = local.request_log(name)
            if frame.empty:
                raise UsageError(
                    f"deployment {name!r} has logged no requests yet; send some through its endpoint"
                )
            if window is not None:
                import pandas as pd

                frame = frame[frame["timestamp"] >= pd.Timestamp.now(tz="UTC") - window]
                if frame.empty:
                    raise UsageError(f"deployment {name!r} logged no requests in the last {window}")
            dep = local.get(name)
            meta = {"deployment": name, "model_uri": dep.model_uri, "run_id": dep.run_id}
            return frame.drop(columns=["timestamp"]), {k: v for k, v in meta.items() if v}
        if spec.startswith("run:"):
            from ..monitoring.training import training_features

            return training_features(spec.split(":", 1)[1])
        if not spec.isidentifier() or spec not in self.shell.user_ns:
            raise UsageError(f"{spec!r} is neither a DataFrame variable, run:ID|last nor deployment:NAME")
        return self.shell.user_ns[spec], {}


def load_ipython_extension(ip):
    ip.register_magics(DriftMagics)
