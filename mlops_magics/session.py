"""What this kernel used, for lineage: feature retrievals not yet attached to a run.

``%feature get`` records the views, versions and fingerprints it read. If an MLflow run is open they
are tagged on it at once; otherwise they wait here and the next run started in this kernel takes them.
"""

from __future__ import annotations

import json
import sys

from .tracking.store import TAG

_pending: list[dict] = []


def record_features(used: list[dict]) -> None:
    """``used``: [{"view", "version", "fingerprint", "features"}] of one retrieval."""
    run_id = _active_run_id()
    if run_id is not None:
        from .tracking.store import client, retry_locked

        c = client()
        previous = json.loads(c.get_run(run_id).data.tags.get(f"{TAG}.features", "[]"))
        retry_locked(c.set_tag)(run_id, f"{TAG}.features", json.dumps(_merge(previous, used)))
    else:
        _pending[:] = _merge(_pending, used)


def take_pending_tags() -> dict[str, str]:
    """Tags for a run starting now: the retrievals made before it, then forgotten."""
    if not _pending:
        return {}
    tags = {f"{TAG}.features": json.dumps(list(_pending))}
    _pending.clear()
    return tags


def _merge(old: list[dict], new: list[dict]) -> list[dict]:
    by_view = {u["view"]: u for u in old}
    for u in new:
        if u["view"] in by_view and by_view[u["view"]]["fingerprint"] == u["fingerprint"]:
            feats = sorted(set(by_view[u["view"]]["features"]) | set(u["features"]))
            by_view[u["view"]] = {**u, "features": feats}
        else:
            by_view[u["view"]] = u
    return list(by_view.values())


def _active_run_id() -> str | None:
    mlflow = sys.modules.get("mlflow")
    if mlflow is None:
        return None
    run = mlflow.active_run()
    return run.info.run_id if run else None
