"""One drift check of two DataFrames through Evidently's ``DataDriftPreset`` (0.7 API).

The inputs are checked first (monitoring/inputs.py), both frames are sampled above
``MLOps.drift_sample_rows`` with a fixed seed (and the result says so), column kinds are given to
Evidently explicitly, and the full HTML report goes to the workspace when first needed.
"""

from __future__ import annotations

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
    roles = {c: role for role, c in (("target", target), ("prediction", prediction)) if c}
    reference, current_data = inputs.harmonize(reference, current_data)
    cols = inputs.check(reference, current_data, columns, required=roles)
    rows = config.drift_sample_rows if sample_rows is None else sample_rows
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
        with quiet():  # numpy's RuntimeWarnings on tiny or infinite frames
            meta = {k: str(v) for k, v in (metadata or {}).items()}
            snapshot = Report([preset, RowCount()], metadata=meta).run(  # RowCount: the dashboard's rows
                reference_data=Dataset.from_pandas(ref, data_definition=definition),
                current_data=Dataset.from_pandas(cur, data_definition=definition),
                name=name,
            )
    except Exception as exc:
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
                                          _spark_sample(ref[col]), _spark_sample(cur[col])))  # fmt: skip
    when = datetime.now(timezone.utc)
    report_dir = current(config).ensure().monitoring_dir / "reports"
    report_dir.mkdir(parents=True, exist_ok=True)
    html_path = (
        report_dir / f"{(name or 'drift')}-{when.strftime('%Y%m%d-%H%M%S-%f')}.html"
    )  # written when first used
    notes = []
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


def _spark_sample(series, n: int = 400) -> list:
    s = series.dropna()
    return (s.sample(n, random_state=0) if len(s) > n else s).tolist()
