"""The lineage schema: every key this package writes where the tools keep their metadata, with the
small functions that write and read them.

The keys live in one namespace, ``mlops_magics.*``, on MLflow run tags, MLflow model-version tags and
Feast feature-view tags, and as ``mlops-magics/*`` annotations on Kubernetes manifests, so the chain
feature views -> run -> model version -> deployment -> drift checks is readable without this package.
Every part writes and reads them through this module; nothing else spells a key.
"""

from __future__ import annotations

import json

PREFIX = "mlops_magics"


def key(name: str) -> str:
    return f"{PREFIX}.{name}"


# -- MLflow run tags: where a run came from --------------------------------------------------------------
NOTEBOOK = key("notebook")
CELL_SHA256 = key("cell_sha256")
GIT_COMMIT = key("git_commit")
GIT_DIRTY = key("git_dirty")
GIT_DIFF_SHA256 = key("git_diff_sha256")
PAPERMILL = key("papermill")
PAPERMILL_PARAMETERS = key("papermill_parameters")
PACKAGES = key("packages")
STARTED = key("started")
FEATURES = key("features")  # JSON list of the feature-view versions the run read
MODEL_URI = key("model_uri")
LOGGED_FOR = key("logged_for")  # why a run was made by the package itself (e.g. %deploy of a variable)
# who owns a RUNNING run: a run of a dead process is found by these
HOST = key("host")
PID = key("pid")
PID_STARTED = key("pid_started")
KILLED_REASON = key("killed_reason")
# how a run failed
ERROR = key("error")
ERROR_TYPE = key("error_type")
FAILED_CELL = key("failed_cell")
# pipelines: a parent run per pipeline run, a child run per step, the notebooks' runs under their step
KIND = key("kind")  # pipeline | pipeline_step
PIPELINE = key("pipeline")
PIPELINE_FOLDER = key("pipeline_folder")
PIPELINE_RUN = key("pipeline_run")
PIPELINE_STEP_RUN = key("pipeline_step_run")
PIPELINE_STEP = key("pipeline_step")
REPRODUCES = key("reproduces")
# monitoring: drift checks of a deployment, on the run of the model it serves
LAST_DRIFT_CHECK = key("last_drift_check")
LAST_DRIFT_REPORT = key("last_drift_report")
LAST_DRIFT_VERDICT = key("last_drift_verdict")  # e.g. "DRIFT: 3 of 20 columns drifted"
LAST_DRIFT_COLUMNS = key("last_drift_columns")  # the drifted columns, comma-separated
DEPLOYMENT_PREFIX = key("deployment.")  # + deployment name: JSON {url, model_uri, created}

# -- MLflow model-version tags ----------------------------------------------------------------------------
VERSION_RUN_ID = key("run_id")

# -- Feast feature-view tags ------------------------------------------------------------------------------
VIEW_FINGERPRINT = key("fingerprint")
VIEW_VERSION = key("version")
VIEW_ROWS = key("rows")
VIEW_ENTITIES = key("entities")
VIEW_TIME_MIN = key("time_min")
VIEW_TIME_MAX = key("time_max")
VIEW_REGISTERED = key("registered")
VIEW_RENAMED = key("renamed")  # JSON {original column: feature name} when names were cleaned

# -- Feast's own MLflow run tags (feast/mlflow_integration writes these; so do we, for its readers) --------
FEAST_PROJECT = "feast.project"
FEAST_RETRIEVAL_TYPE = "feast.retrieval_type"
FEAST_FEATURE_VIEWS = "feast.feature_views"
FEAST_FEATURE_REFS = "feast.feature_refs"
FEAST_ENTITY_COUNT = "feast.entity_count"
FEAST_FEATURE_COUNT = "feast.feature_count"
FEAST_TAG_LIMIT = 4990  # Feast cuts longer values to 4987 characters and "..."
DATASET_CONTEXT = "mlflow.data.context"  # the MLflow UI's Datasets column reads it

# -- Kubernetes manifest annotations ----------------------------------------------------------------------
ANNOTATION_MODEL_URI = "mlops-magics/model-uri"
ANNOTATION_RUN_ID = "mlops-magics/run-id"
ANNOTATION_REGISTERED_MODEL = "mlops-magics/registered-model"

# -- MLflow metrics that drift checks log on a served model's run (not training metrics) -------------------
DRIFT_METRICS = ("dataset_drift", "drift_share")
DRIFT_SCORE_PREFIX = "drift_score."


# -- writers and readers ----------------------------------------------------------------------------------
def features_used(tags: dict) -> list[dict]:
    """The feature-view versions a run read: [{"view", "version", "fingerprint", "features", "entities"}]."""
    return json.loads(tags.get(FEATURES) or "[]")


def features_tag(used: list[dict]) -> dict[str, str]:
    return {FEATURES: json.dumps(used)} if used else {}


def merge_features(old: list[dict], new: list[dict]) -> list[dict]:
    """Retrievals of one run, one entry per view; a retrieval of another version of a view replaces it."""
    by_view = {u["view"]: u for u in old}
    for u in new:
        before = by_view.get(u["view"])
        if before is not None and before["fingerprint"] == u["fingerprint"]:
            by_view[u["view"]] = {**u, "features": sorted(set(before["features"]) | set(u["features"]))}
        else:
            by_view[u["view"]] = u
    return list(by_view.values())


def deployment_key(name: str) -> str:
    return DEPLOYMENT_PREFIX + name


def deployment_tag(name: str, url: str, model_uri: str, created: str) -> dict[str, str]:
    return {deployment_key(name): json.dumps({"url": url, "model_uri": model_uri, "created": created})}


def owner_tags(host: str, pid: int, started: float) -> dict[str, str]:
    return {HOST: host, PID: str(pid), PID_STARTED: f"{started:.3f}"}


def owner(tags: dict) -> tuple[str | None, int | None, float]:
    """(host, pid, process start time) of the process that owns a run, as far as its tags say."""
    try:
        pid = int(tags[PID]) if PID in tags else None
        started = float(tags.get(PID_STARTED, 0))
    except ValueError:
        return tags.get(HOST), None, 0.0
    return tags.get(HOST), pid, started


def error_tags(error: BaseException) -> dict[str, str]:
    message = str(error).strip().splitlines()[0][:500] if str(error).strip() else ""
    return {ERROR_TYPE: type(error).__name__, ERROR: message or type(error).__name__}


def view_tags(fingerprint: str, rows: int, entities: int, time_min: str, time_max: str, registered: str,
              version: int | None = None) -> dict[str, str]:  # fmt: skip
    tags = {VIEW_FINGERPRINT: fingerprint, VIEW_ROWS: str(rows), VIEW_ENTITIES: str(entities),
            VIEW_TIME_MIN: time_min, VIEW_TIME_MAX: time_max, VIEW_REGISTERED: registered}  # fmt: skip
    if version is not None:
        tags[VIEW_VERSION] = str(version)
    return tags


def view_version(tags: dict) -> int | None:
    value = (tags or {}).get(VIEW_VERSION)
    return int(value) if value else None


def view_fingerprint(tags: dict) -> str | None:
    return (tags or {}).get(VIEW_FINGERPRINT)


def view_info(tags: dict) -> dict:
    """What the package recorded on a feature view: fingerprint, version, rows, entities, time range."""
    tags = tags or {}

    def number(k):
        return int(tags[k]) if tags.get(k) else None

    return {"fingerprint": tags.get(VIEW_FINGERPRINT), "version": number(VIEW_VERSION), "rows": number(VIEW_ROWS),
            "entities": number(VIEW_ENTITIES), "time_min": tags.get(VIEW_TIME_MIN),
            "time_max": tags.get(VIEW_TIME_MAX)}  # fmt: skip


def annotations(model_uri: str, run_id: str | None, name: str | None, version: str | None) -> dict[str, str]:
    notes = {ANNOTATION_MODEL_URI: model_uri}
    if run_id:
        notes[ANNOTATION_RUN_ID] = run_id
    if name and version:
        notes[ANNOTATION_REGISTERED_MODEL] = f"{name}/{version}"
    return notes


def annotated_run(document: dict) -> str | None:
    """The training run a manifest document names in its annotations."""
    return ((document.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION_RUN_ID)


def is_drift_metric(name: str) -> bool:
    return name in DRIFT_METRICS or name.startswith(DRIFT_SCORE_PREFIX)


def feast_tags(used: list[dict], retrieval_type: str = "historical") -> dict[str, str]:
    """The tags Feast's MLflow integration writes on a run that retrieved features, for ``used``."""
    if not used:
        return {}

    def cut(text: str) -> str:
        return text if len(text) <= FEAST_TAG_LIMIT else text[: FEAST_TAG_LIMIT - 3] + "..."

    refs = [f"{u['view']}:{f}" for u in used for f in u.get("features", [])]
    tags = {FEAST_PROJECT: used[0].get("project", ""), FEAST_RETRIEVAL_TYPE: retrieval_type,
            FEAST_FEATURE_VIEWS: cut(",".join(sorted({u["view"] for u in used}))),
            FEAST_FEATURE_REFS: cut(",".join(refs)), FEAST_FEATURE_COUNT: str(len(refs))}  # fmt: skip
    counts = [u["rows"] for u in used if u.get("rows") is not None]
    if counts:
        tags[FEAST_ENTITY_COUNT] = str(max(counts))
    return tags


def dataset_source(u: dict) -> dict:
    """How a feature-view version is named as an MLflow dataset input's source (source type ``feast``)."""
    return {"project": u.get("project"), "feature_view": u["view"], "version": u.get("version"),
            "fingerprint": u.get("fingerprint"), "path": u.get("path")}  # fmt: skip
