"""The verbs of ``%drift`` as plain functions: ``check``, ``watch``, ``history``, ``start_ui``.

Each takes what the magic takes: a DataFrame, ``run:ID|last|NAME`` or ``deployment:NAME``, durations as
``"1h"`` or timedeltas. A script, a papermill step and the CLI get the same behaviour as the magic.
"""

from __future__ import annotations

from datetime import timedelta

from .. import durations
from ..errors import DriftDetected, UserInputError
from . import frames, live
from .results import DriftResult
from .snapshots import history, start_ui, stop_ui

__all__ = ["check", "history", "start_ui", "stop_ui", "stop_watch", "watch"]


def _duration(value, option: str) -> timedelta | None:
    return value if isinstance(value, timedelta) or value is None else durations.parse(value, option)


def check(reference, current, *, columns: list[str] | None = None, target: str | None = None,
          prediction: str | None = None, stattest: str | None = None, threshold: float | None = None,
          drift_share: float = 0.5, window=None, save: str | None = None, fail: bool = False,
          sample_rows: int | None = None, config=None) -> DriftResult:  # fmt: skip
    """Data drift of ``current`` against ``reference`` (each a DataFrame, ``run:ID|last`` or
    ``deployment:NAME``). ``window`` (``"1h"``) keeps only recent requests of a deployment; ``save``
    adds the check to the Evidently project and history ``save``; a check involving a deployment is
    logged on the served model's run. ``fail``: raise :class:`DriftDetected` (carrying the result) when
    the dataset drifted."""
    window = _duration(window, "--window")
    if save is not None:
        from ..workspace import check_name

        check_name(save, "--save")
    ref, ref_meta = frames.resolve(reference, window, config)
    cur, cur_meta = frames.resolve(current, window, config)
    meta = {**ref_meta, **cur_meta}
    from .report import compute

    result = compute(ref, cur, columns=columns, stattest=stattest, threshold=threshold, drift_share=drift_share,
                     sample_rows=sample_rows, name=save, metadata=meta, target=target, prediction=prediction,
                     config=config)  # fmt: skip
    if save:
        from .snapshots import save as save_check

        save_check(result, save, config)
    if meta.get("run_id"):
        from .runs import log_to_run

        log_to_run(result, meta["run_id"], config)
    if fail and result.dataset_drift:
        raise DriftDetected(f"{result.drifted_columns} of {len(result.columns)} columns drifted "
                            f"({', '.join(result.drifted)}); report: {result.report_path}", result)  # fmt: skip
    return result


def watch(deployment: str, *, reference=None, every="30s", window=None, min_rows: int = 30,
          save: str | bool | None = True, config=None) -> live.Watch:  # fmt: skip
    """Recompute the drift of ``deployment:NAME`` (or ``NAME``) in the background every ``every``;
    ``reference`` defaults to the training features of the model the deployment serves. Each check is
    saved into the Evidently project ``save`` (``True``: the deployment's name; ``False``: not saved),
    the project and history that ``check(..., save=NAME)`` fills."""
    from .. import refs
    from ..serving import deployments

    name = refs.parse(deployment, ("deployment",)).value if ":" in deployment else deployment
    project = name if save is True else (save or None)
    if project is not None:
        from ..workspace import check_name

        check_name(project, "--save")
    every = _duration(every, "--every")
    window = _duration(window, "--window")
    dep = deployments.get(name, config)
    if dep.status != "READY":
        raise UserInputError(f"deployment {name!r} is {dep.status}; there is no traffic to watch")
    if reference is None:
        if not dep.run_id:
            raise UserInputError(
                "the deployment's model has no run to take training data from; pass --reference"
            )
        reference = f"run:{dep.run_id}"
    ref, _ = frames.resolve(reference, None, config)
    return live.start(name, ref, every=every.total_seconds(), window=window, min_rows=min_rows, save=project)


def stop_watch(deployment: str | None = None):
    """Stop the watch of ``deployment:NAME`` (or ``NAME``), or every watch."""
    if deployment and ":" in deployment:
        from .. import refs

        deployment = refs.parse(deployment, ("deployment",)).value
    return live.stop(deployment)
