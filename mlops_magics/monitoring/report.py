"""One drift check of two DataFrames through Evidently's ``DataDriftPreset`` (0.7 API).

The inputs are checked first (monitoring/inputs.py), both frames are sampled above
``MLOps.drift_sample_rows`` rows and ``MLOps.drift_max_columns`` columns with a fixed seed (and the
result says so), column kinds are given to Evidently explicitly, and the full HTML report goes to the
workspace when first needed. Evidently takes about 0.1 s a column, so a wide check shows a progress bar.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..config import get_config
from ..errors import BackendError, UserInputError
from ..workspace import current
from . import inputs
from .results import DriftResult


@dataclass
class ColumnDrift:
    column: str
    kind: str
    method: str
    score: float
    threshold: float
    drifted: bool
    role: str = "feature"  # feature | target | prediction
    missing_reference: float = 0.0  # share of missing values on each side
    missing_current: float = 0.0
    reference_sample: list = field(default_factory=list, repr=False)
    current_sample: list = field(default_factory=list, repr=False)


def _drifted(method: str, score: float, threshold: float) -> bool:
    """p-value tests drift below the threshold; distances (Wasserstein, PSI, ...) at or above it."""
    return score < threshold if "p_value" in method else score >= threshold


def compute(reference, current_data, columns: list[str] | None = None, stattest: str | None = None,
            threshold: float | None = None, drift_share: float = 0.5, sample_rows: int | None = None,
            name: str | None = None, metadata: dict | None = None, target: str | None = None,
            prediction: str | None = None, config=None) -> DriftResult:  # fmt: skip
    """Compare ``current_data`` with ``reference``; a :class:`DriftResult` (nothing raised on drift).

    ``target`` and ``prediction`` name the label and prediction columns: they must be in both frames and
    are always compared (even with ``columns``), marked as such in the result."""
    config = config or get_config()
    if not 0 < drift_share <= 1:
        raise UserInputError(f"--drift-share {drift_share:g}: give the share of drifted columns that means "
                             "dataset drift, above 0 and at most 1, e.g. --drift-share 0.5")  # fmt: skip
    if threshold is not None and not threshold >= 0:
        raise UserInputError(
            f"--threshold {threshold:g}: a test's threshold is 0 or more, e.g. --threshold 0.05"
        )
    roles = {str(c): role for role, c in (("target", target), ("prediction", prediction)) if c is not None}
    reference, current_data = inputs.named(reference, "reference"), inputs.named(current_data, "current")
    reference, current_data = inputs.harmonize(reference, current_data)
    columns = [str(c) for c in columns] if columns else None
    cols = inputs.check(reference, current_data, columns, required=roles)
    shared = len(cols)
    if not columns:  # a column list the user chose is compared whole
        cols, shared = inputs.limit(cols, config.drift_max_columns, roles)
    rows = config.drift_sample_rows if sample_rows is None else sample_rows
    missing_ref, missing_cur = (
        inputs.missing_shares(reference, cols),
        inputs.missing_shares(current_data, cols),
    )
    empty = inputs.empty_columns(reference, current_data, cols)
    listed, cols = cols, [c for c in cols if c not in empty]
    ref, ref_sampled = inputs.sample(reference[cols], rows)
    cur, cur_sampled = inputs.sample(current_data[cols], rows)
    numerical, categorical = inputs.kinds(ref, cols)
    from ..quiet import quiet

    with quiet():  # Evidently's import warns (numpy.core, an escape, Litestar) in red under the first check
        from evidently import DataDefinition, Dataset, Report
        from evidently.metrics import RowCount
        from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    preset = DataDriftPreset(columns=cols, method=stattest, threshold=threshold, drift_share=drift_share)
    t = time.perf_counter()
    try:
        with _progress(len(cols)), quiet():  # the bar first: quiet() hides numpy's RuntimeWarnings
            meta = {k: str(v) for k, v in (metadata or {}).items()}
            snapshot = Report([preset, RowCount()], metadata=meta).run(  # RowCount: the dashboard's rows
                reference_data=Dataset.from_pandas(ref, data_definition=definition),
                current_data=Dataset.from_pandas(cur, data_definition=definition),
                name=name,
            )
    except Exception as exc:
        if stattest is not None and type(exc).__name__ in _STATTEST_MISTAKES:
            mistake = _STATTEST_MISTAKES[type(exc).__name__]
            raise UserInputError(mistake(stattest, str(exc), numerical, categorical)) from None
        raise BackendError("evidently.Report.run", exc) from exc
    seconds = time.perf_counter() - t
    per_column, share, count = [], 0.0, 0
    for m in snapshot.dict()["metrics"]:
        cfg, value = m["config"], m["value"]
        if cfg["type"].endswith("DriftedColumnsCount"):
            count, share = int(value["count"]), float(value["share"])
        elif cfg["type"].endswith("ValueDrift"):
            col = cfg["column"]
            score, thr = float(value), float(cfg["threshold"])
            per_column.append(ColumnDrift(col, "numerical" if col in numerical else "categorical", cfg["method"],
                                          score, thr, _drifted(cfg["method"], score, thr), roles.get(col, "feature"),
                                          missing_ref[col], missing_cur[col], _spark_sample(ref[col]),
                                          _spark_sample(cur[col])))  # fmt: skip
    for col, side in empty.items():  # no value at all on a side: a change of the data itself, reported
        per_column.append(ColumnDrift(col, inputs._kind(reference[col] if side != "reference" else current_data[col]),
                                      f"all missing in {side}", missing_cur[col], 1.0, side != "both",
                                      roles.get(col, "feature"), missing_ref[col], missing_cur[col]))  # fmt: skip
    if empty:
        count = sum(c.drifted for c in per_column)
        share = count / len(per_column)
    per_column.sort(key=lambda c: listed.index(c.column))
    when = datetime.now(timezone.utc)
    report_dir = current(config).ensure().monitoring_dir / "reports"
    report_dir.mkdir(parents=True, exist_ok=True)
    html_path = (
        report_dir / f"{(name or 'drift')}-{when.strftime('%Y%m%d-%H%M%S-%f')}.html"
    )  # written when first used
    notes = [f"{c} is empty (all missing) in {side}: not tested, " + ("counted as drifted" if side != "both" else "not counted")
             for c, side in empty.items()]  # fmt: skip
    grew = [f"{c.column} {c.missing_reference:.0%} -> {c.missing_current:.0%}" for c in per_column
            if c.column not in empty and c.missing_current - c.missing_reference >= 0.10]  # fmt: skip
    if grew:  # drift tests look at the values that are there: gaps are a change of their own
        notes.append(f"missing values grew: {', '.join(grew)}")
    if len(listed) < shared:
        notes.append(f"compared {len(listed):,} of {shared:,} columns, drawn at random (seed 0; MLOps.drift_max_columns); "
                     "choose them with --columns")  # fmt: skip
    if ref_sampled or cur_sampled:
        notes.append(
            f"sampled to {rows:,} rows per frame (seed 0): reference {len(reference):,}, current {len(current_data):,} rows"
        )
    return DriftResult(
        name=name, dataset_drift=share >= drift_share, drift_share=share, drifted_columns=count,
        columns=per_column, reference_rows=len(reference), current_rows=len(current_data),
        threshold_share=drift_share, planned_report=str(html_path), seconds=seconds, when=when.isoformat(timespec="seconds"),
        notes=notes, snapshot=snapshot, metadata=dict(metadata or {}),
    )  # fmt: skip


def _wrong_kind(stattest, detail, numerical, categorical) -> str:
    kind, columns = ("categorical", categorical) if "type cat" in detail else ("numerical", numerical)
    return (f"--stattest {stattest!r} does not apply to {kind} columns ({', '.join(map(str, columns[:5]))}); "
            "use one for both kinds (psi, jensenshannon) or choose --columns")  # fmt: skip


_STATTEST_MISTAKES = {  # Evidently's errors that mean a mistake in --stattest, as one line saying what to type
    "StatTestNotFoundError": lambda stattest, *_: (
        f"--stattest {stattest!r}: Evidently has no such test; e.g. ks, wasserstein (numbers), chisquare "
        "(categories), psi, jensenshannon (both)"
    ),
    "StatTestInvalidFeatureTypeError": _wrong_kind,
}
PROGRESS_FROM = 25  # columns: a check this wide takes a few seconds, so it shows a progress bar
_bars = threading.local()


@contextlib.contextmanager
def _progress(columns: int):
    """A progress bar over the columns Evidently computes (a notebook widget or a terminal bar), for a
    check of at least PROGRESS_FROM columns run in the main thread (a background watch shows none)."""
    if columns < PROGRESS_FROM or threading.current_thread() is not threading.main_thread():
        yield
        return
    from tqdm.auto import tqdm

    _count_calculations()
    with tqdm(total=columns, desc="drift", unit="column", leave=False) as bar:
        _bars.state = (bar, set())
        try:
            yield
        finally:
            _bars.state = None


def _count_calculations() -> None:
    """Let Evidently's metric calculations advance the bar of the thread running them (installed once;
    each distinct metric counts once, cached lookups do not)."""
    from evidently.core.report import Context

    original = Context.calculate_metric
    if getattr(original, "counted", False):
        return

    @functools.wraps(original)
    def calculate_metric(self, calc):
        result = original(self, calc)
        state = getattr(_bars, "state", None)
        if state is not None and calc.id not in state[1]:
            bar, seen = state
            seen.add(calc.id)
            if bar.n < bar.total:
                bar.update(1)
            if bar.n >= bar.total:
                bar.set_description("drift: rendering the report")
        return result

    calculate_metric.counted = True
    Context.calculate_metric = calculate_metric


def _spark_sample(series, n: int = 400) -> list:
    """Up to ``n`` values for the column's sparkline, drawn with replacement by a seeded generator: a
    pandas ``sample`` without replacement permutes the whole column (2.5 ms a column at 100k rows)."""
    import numpy as np

    values = series.dropna().to_numpy()
    if len(values) > n:
        values = values[np.random.default_rng(0).integers(0, len(values), n)]
    return values.tolist()
