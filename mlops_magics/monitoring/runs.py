"""Drift of a deployment is logged to the MLflow run of the model it serves (deployment -> model -> run)."""

from __future__ import annotations

import time

from .. import schema


def log_to_run(result, run_id: str, config=None) -> None:
    from mlflow.entities import Metric, RunTag

    from ..tracking.store import client, retry_locked

    step = int(time.time())
    metrics = [Metric("drift_share", result.drift_share, step * 1000, step),
               Metric("dataset_drift", float(result.dataset_drift), step * 1000, step)]  # fmt: skip
    metrics += [
        Metric(f"{schema.DRIFT_SCORE_PREFIX}{c.column}", c.score, step * 1000, step) for c in result.columns
    ]
    tags = [
        RunTag(schema.LAST_DRIFT_CHECK, result.when),
        RunTag(schema.LAST_DRIFT_REPORT, result.report_path),
        RunTag(schema.LAST_DRIFT_VERDICT, result.verdict),
        RunTag(
            schema.LAST_DRIFT_COLUMNS, ",".join(result.drifted)[:5000]
        ),  # MLflow's tag value limit is 8000
    ]
    retry_locked(client(config).log_batch)(run_id, metrics=metrics, tags=tags)
