"""What a run trains on: the feature retrievals of this kernel (``%feature get``), for lineage.

A retrieval made while an MLflow run is open is tagged on that run at once; otherwise it waits here and
the next run started in this kernel takes it.
"""

from __future__ import annotations

import sys

from .. import schema

_pending: list[dict] = []


def record_features(used: list[dict]) -> None:
    """``used``: [{"view", "version", "fingerprint", "features", "entities"}] of one retrieval."""
    run_id = _active_run_id()
    if run_id is not None:
        from .store import client, retry_locked

        c = client()
        previous = schema.features_used(c.get_run(run_id).data.tags)
        merged = schema.merge_features(previous, used)
        retry_locked(c.set_tag)(run_id, schema.FEATURES, schema.features_tag(merged)[schema.FEATURES])
    else:
        _pending[:] = schema.merge_features(_pending, used)


def take_pending() -> dict[str, str]:
    """Tags for a run starting now: the retrievals made before it, then forgotten."""
    tags = schema.features_tag(list(_pending))
    _pending.clear()
    return tags


def _active_run_id() -> str | None:
    mlflow = sys.modules.get("mlflow")
    if mlflow is None:
        return None
    run = mlflow.active_run()
    return run.info.run_id if run else None
