"""What a run trains on: the feature retrievals of this kernel (``%feature get``), for lineage.

Lineage follows the data, not the order of cells: the latest retrieval of each feature view in this
process is recorded on every run started after it (a new retrieval of the same view replaces it), and on
the run that is open when it happens. ``%%track --features VIEW,...`` names them explicitly instead.

Each is written where the field's tools read it: the ``mlops_magics.features`` tag (view, version,
fingerprint, features), Feast's own ``feast.*`` run tags, and an MLflow dataset input per view version
(source type ``feast``, digest = the version's fingerprint) that the MLflow UI lists under "Datasets".
"""

from __future__ import annotations

import json
import sys

from .. import schema

_current: dict[str, list[dict]] = {}  # workspace -> the latest retrieval of each view in this process


def _workspace(config=None) -> str:
    from ..workspace import current as workspace

    return str(workspace(config).root)


def record_features(used: list[dict], config=None) -> None:
    """``used``: [{"view", "version", "fingerprint", "features", "entities", "rows", "project", "path"}]."""
    key = _workspace(config)
    _current[key] = schema.merge_features(_current.get(key, []), used)
    run_id = _active_run_id()
    if run_id is not None:
        from .store import client

        c = client()
        merged = schema.merge_features(schema.features_used(c.get_run(run_id).data.tags), used)
        record_on(run_id, merged, c)


def current(config=None) -> list[dict]:
    """The retrievals a run started now (in the workspace in force) trains on."""
    return list(_current.get(_workspace(config), []))


def tags_for(used: list[dict]) -> dict[str, str]:
    return {**schema.features_tag(used), **schema.feast_tags(used)}


def record_on(run_id: str, used: list[dict], c=None) -> None:
    """Tag ``run_id`` with ``used`` and log one MLflow dataset input per view version."""
    from mlflow.entities import RunTag

    from .store import client, retry_locked

    if not used:
        return
    c = c or client()
    retry_locked(c.log_batch)(run_id, tags=[RunTag(k, v) for k, v in tags_for(used).items()])
    log_datasets(run_id, used, c)


def log_datasets(run_id: str, used: list[dict], c) -> None:
    """One MLflow dataset input per feature-view version (the run's tags are written by the caller)."""
    from mlflow.entities import Dataset, DatasetInput, InputTag

    from .store import retry_locked

    if not used:
        return
    datasets = [DatasetInput(Dataset(name=u["view"], digest=str(u.get("fingerprint") or "")[:36], source_type="feast",
                                     source=json.dumps(schema.dataset_source(u))),
                             tags=[InputTag(schema.DATASET_CONTEXT, "training")]) for u in used]  # fmt: skip
    retry_locked(c.log_inputs)(run_id, datasets=datasets)


def _active_run_id() -> str | None:
    mlflow = sys.modules.get("mlflow")
    if mlflow is None:
        return None
    run = mlflow.active_run()
    return run.info.run_id if run else None
