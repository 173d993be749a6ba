"""``mlops-magics push .mlops/ --to URL``: a personal workspace copied into the team's services.

MLflow has no copy of its own that reads a SQLite store and knows MLflow 3's logged models (neither
``mlflow-export-import`` package does), so runs are copied through ``MlflowClient``: experiments, runs
(params, the whole metric history, tags, dataset inputs, artifacts, status), logged models (their files,
``MLmodel`` rewritten to the new ids), registered models, versions and aliases. Ids change on the way, so
every tag or record naming an old run or model id is rewritten with the map. Feature views go with their
data (uploaded through MLflow's artifact proxy, as ``%%feature`` does against the services), and saved
drift checks with their history. Everything copied is marked ``mlops_magics.pushed_from``, so pushing
again copies only what is new.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .. import schema
from ..display import Card, Result

PUSHED_FROM = schema.key("pushed_from")
DERIVED_TAGS = {"mlflow.log-model.history"}  # written by the server itself


@dataclass
class Pushed(Result):
    source: str
    server: str
    runs: int = 0
    models: int = 0
    versions: int = 0
    views: int = 0
    checks: int = 0
    skipped: int = 0
    ids: dict = field(default_factory=dict, repr=False)

    def card(self) -> Card:
        facts = [("from", self.source), ("to", self.server), ("runs", self.runs), ("logged models", self.models),
                 ("model versions", self.versions), ("feature views", self.views), ("drift checks", self.checks),
                 ("already there", self.skipped)]  # fmt: skip
        return Card("pushed to the team's services", facts, status="FINISHED", kind="push")


def push(source: str | os.PathLike, server: str, log=print) -> Pushed:
    """Copy the workspace at ``source`` (its ``.mlops`` folder) into the services behind ``server``."""
    from ..discovery import services
    from ..errors import UserInputError
    from ..workspace import Workspace

    ws = Workspace(Path(source).expanduser().resolve())
    if not ws.exists:
        raise UserInputError(
            f"{source}: no workspace there (no workspace.json); give the .mlops folder to push"
        )
    team = services(server)  # the team's token goes to MLflow's client as well
    result = Pushed(str(ws.root), server)
    _copy_mlflow(f"sqlite:///{ws.mlflow_db}", server, result, log)
    _copy_features(ws, team, result, log)
    _copy_drift(ws, team, result, log)
    return result


def _rewrite(value: str, ids: dict) -> str:
    for old, new in ids.items():
        if old in value:
            value = value.replace(old, new)
    return value


def _copy_mlflow(src_uri: str, dst_uri: str, result: Pushed, log) -> None:
    from mlflow import MlflowClient
    from mlflow.entities import LoggedModelOutput, Metric, Param, ViewType

    src, dst = MlflowClient(src_uri, registry_uri=src_uri), MlflowClient(dst_uri, registry_uri=dst_uri)
    ids = result.ids
    copied = []
    for exp in src.search_experiments(view_type=ViewType.ACTIVE_ONLY):
        runs = src.search_runs(
            [exp.experiment_id], max_results=50_000, order_by=["attributes.start_time ASC"]
        )
        models = src.search_logged_models(experiment_ids=[exp.experiment_id])
        if not runs and not models:
            continue
        target = dst.get_experiment_by_name(exp.name)
        eid = target.experiment_id if target else dst.create_experiment(exp.name, tags=exp.tags)
        there = {r.data.tags[PUSHED_FROM]: r.info.run_id for r in
                 dst.search_runs([eid], filter_string=f"tags.`{PUSHED_FROM}` != ''", max_results=50_000)}  # fmt: skip
        for r in runs:
            if r.info.run_id in there:
                ids[r.info.run_id] = there[r.info.run_id]
                result.skipped += 1
                continue
            tags = {k: v for k, v in r.data.tags.items() if k not in DERIVED_TAGS}
            new = dst.create_run(eid, start_time=r.info.start_time, run_name=r.info.run_name,
                                 tags={**tags, PUSHED_FROM: r.info.run_id})  # fmt: skip
            ids[r.info.run_id] = new.info.run_id
            points = [m for key in r.data.metrics for m in src.get_metric_history(r.info.run_id, key)]
            params = [Param(k, v) for k, v in r.data.params.items()]
            for i in range(0, max(len(points), 1), 1000):
                dst.log_batch(new.info.run_id, metrics=[Metric(m.key, m.value, m.timestamp, m.step) for m in points[i : i + 1000]],
                              params=params if i == 0 else [])  # fmt: skip
            if r.inputs and r.inputs.dataset_inputs:
                dst.log_inputs(new.info.run_id, datasets=r.inputs.dataset_inputs)
            with tempfile.TemporaryDirectory() as tmp:
                if src.list_artifacts(r.info.run_id):
                    dst.log_artifacts(new.info.run_id, src.download_artifacts(r.info.run_id, "", tmp))
            copied.append((r, new.info.run_id))
            result.runs += 1
        known = {m.tags.get(PUSHED_FROM) for m in dst.search_logged_models(experiment_ids=[eid])}
        for m in models:
            if m.model_id in known:
                continue
            new_model = dst.create_logged_model(eid, name=m.name, source_run_id=ids.get(m.source_run_id),
                                                tags={**(m.tags or {}), PUSHED_FROM: m.model_id}, params=m.params,
                                                model_type=m.model_type)  # fmt: skip
            ids[m.model_id] = new_model.model_id
            with tempfile.TemporaryDirectory() as tmp:
                from mlflow.artifacts import download_artifacts

                local = download_artifacts(
                    artifact_uri=m.artifact_location, dst_path=tmp, tracking_uri=src_uri
                )
                mlmodel = Path(local) / "MLmodel"
                if mlmodel.is_file():  # the model's own file names its run and model ids
                    text = mlmodel.read_text()
                    for k in ("model_id", "model_uuid"):
                        text = re.sub(rf"^{k}: .*$", f"{k}: {new_model.model_id}", text, flags=re.M)
                    if m.source_run_id in ids:
                        text = re.sub(r"^run_id: .*$", f"run_id: {ids[m.source_run_id]}", text, flags=re.M)
                    mlmodel.write_text(text)
                dst.log_model_artifacts(new_model.model_id, local)
            dst.finalize_logged_model(new_model.model_id, m.status)
            if m.source_run_id in ids:
                dst.log_outputs(ids[m.source_run_id], [LoggedModelOutput(new_model.model_id, 0)])
            result.models += 1
    for r, new_id in copied:  # lineage tags that name old ids; then the runs end as they ended
        for k, v in r.data.tags.items():
            if _rewrite(v, ids) != v:
                dst.set_tag(new_id, k, _rewrite(v, ids))
        dst.set_terminated(new_id, status=r.info.status, end_time=r.info.end_time)
    _copy_registry(src, dst, result)
    log(f"push: {result.runs} runs, {result.models} logged models ({result.skipped} already there)")


def _copy_registry(src, dst, result: Pushed) -> None:
    from ..tracking.store import quote

    ids = result.ids
    for rm in src.search_registered_models(max_results=1000):
        if not dst.search_registered_models(filter_string=f"name = {quote(rm.name)}"):
            dst.create_registered_model(rm.name, tags=rm.tags, description=rm.description)
        there = {
            v.tags.get(PUSHED_FROM): v.version for v in dst.search_model_versions(f"name = {quote(rm.name)}")
        }
        versions = {}
        for v in sorted(src.search_model_versions(f"name = {quote(rm.name)}"), key=lambda v: int(v.version)):
            key = f"{rm.name}/{v.version}"
            if key in there:
                versions[str(v.version)] = there[key]
                continue
            old_model = v.source.split("/", 1)[1] if v.source.startswith("models:/m-") else None
            tags = {k: _rewrite(t, ids) for k, t in (v.tags or {}).items()}
            new = dst.create_model_version(rm.name, source=f"models:/{ids[old_model]}" if old_model in ids else v.source,
                                           run_id=ids.get(v.run_id), tags={**tags, PUSHED_FROM: key},
                                           description=v.description, model_id=ids.get(old_model))  # fmt: skip
            versions[str(v.version)] = new.version
            result.versions += 1
        for alias, version in (src.get_registered_model(rm.name).aliases or {}).items():
            if str(version) in versions:
                dst.set_registered_model_alias(rm.name, alias, versions[str(version)])


def _copy_features(ws, team, result: Pushed, log) -> None:
    """Every view of the personal registry, its data uploaded as ``%%feature`` does against the services,
    then applied and materialized on the team's servers."""
    if not (ws.feast_dir / "registry.db").is_file():
        return
    from feast import FeatureStore

    from ..features import remote

    local = FeatureStore(repo_path=str(ws.feast_dir))
    views = local.list_feature_views()
    import yaml

    with tempfile.TemporaryDirectory() as repo:
        doc = remote.repo_config(team)
        Path(repo, "feature_store.yaml").write_text(yaml.safe_dump(doc))
        target = remote.open_store(Path(repo), doc, os.environ.get("MLOPS_TOKEN") or None)
        for view in views:
            view.batch_source.file_options.uri = remote.upload(team, view.name, Path(view.batch_source.path))
        if views:
            target.apply([*local.list_entities(), *views])
        for view in views:
            spans = view.materialization_intervals
            if spans:
                target.materialize(min(a for a, _ in spans), max(b for _, b in spans), [view.name])
    result.views = len(views)
    log(f"push: {len(views)} feature views with their data")


def _copy_drift(ws, team, result: Pushed, log) -> None:
    """Each saved check's snapshot into the team's Evidently UI, its history record (ids rewritten) in the
    snapshot's metadata; a check pushed before is recognised by its marker and skipped."""
    import json

    from ..monitoring import remote

    history = ws.monitoring_dir / "history"
    evidently = ws.monitoring_dir / "evidently"
    if not history.is_dir():
        return
    from evidently.ui.workspace import Workspace

    local = Workspace.create(str(evidently))
    for path in sorted(history.glob("*.jsonl")):
        name = path.stem
        found = local.search_project(name)
        if not found:
            continue
        snaps = _in_order(local, found[0].id, local.list_runs(found[0].id))
        records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        pid = remote.project_id(team.evidently, name, create=True)
        there = {(s.get("metadata") or {}).get(PUSHED_FROM) for s in remote.snapshots(team.evidently, pid)}
        for sid, record in zip(snaps, records):
            if str(sid) in there:
                result.skipped += 1
                continue
            model = local.get_run(found[0].id, sid)
            data = json.loads(model.json())
            record = json.loads(_rewrite(json.dumps(record, default=str), result.ids))
            remote.add(team.evidently, pid, data, record, {PUSHED_FROM: str(sid)})
            result.checks += 1
    log(f"push: {result.checks} drift checks")


def _in_order(local, pid, ids) -> list:
    """Snapshot ids oldest first (the history file lists checks in the order they were saved)."""
    return sorted(ids, key=lambda sid: local.get_run(pid, sid).timestamp)
