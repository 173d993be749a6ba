"""Kubernetes manifests for the model: Seldon Core v2 ``Model`` (and an ``Experiment`` for a canary),
or a KServe ``InferenceService`` with the MLflow format over the V2 protocol (MLServer underneath).

The model's MLflow folder must be reachable by the cluster at ``storage_uri`` (s3://, gs://, ...).
Lineage travels as annotations (``mlops-magics/model-uri``, ``mlops-magics/run-id``, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..display import Card, Result
from ..errors import UserInputError
from .models import ModelRef

DNS1123 = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
STORAGE = re.compile(r"(s3|gs|gcs|azure|https?|pvc|hf|oci)://.+")


def check_k8s_name(name: str) -> None:
    if not name or len(name) > 63 or not DNS1123.fullmatch(name):
        raise UserInputError(
            f"--name {name!r} is not a valid Kubernetes name: lower-case letters, digits and '-', e.g. credit-risk"
        )


def check_storage(uri: str | None) -> str:
    if not uri:
        raise UserInputError(
            "a cluster target needs --storage-uri, where the cluster reads the model, e.g. s3://bucket/credit-risk"
        )
    if not STORAGE.fullmatch(uri):
        raise UserInputError(
            f"--storage-uri {uri!r}: type a URI the cluster can read, e.g. s3://bucket/credit-risk"
        )
    return uri


def _annotations(model: ModelRef) -> dict:
    notes = {"mlops-magics/model-uri": model.uri}
    if model.run_id:
        notes["mlops-magics/run-id"] = model.run_id
    if model.name and model.version:
        notes["mlops-magics/registered-model"] = f"{model.name}/{model.version}"
    return notes


@dataclass
class Manifests(Result):
    target: str
    name: str
    model: ModelRef
    documents: list[dict] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    @property
    def yaml(self) -> str:
        import yaml

        return "---\n".join(yaml.safe_dump(d, sort_keys=False) for d in self.documents)

    def card(self) -> Card:
        kinds = ", ".join(f"{d['kind']} {d['metadata']['name']}" for d in self.documents)
        facts = [("target", self.target), ("resources", kinds), ("model", self.model.uri),
                 ("run", self.model.run_id), ("written to", ", ".join(self.paths) or None)]  # fmt: skip
        return Card(f"Manifests for {self.name}", facts, notes=["kubectl apply -f " + p for p in self.paths],
                    kind="manifests")  # fmt: skip


def seldon(model: ModelRef, name: str, storage_uri: str, replicas: int = 1, min_replicas: int | None = None,
           max_replicas: int | None = None, canary: tuple[str, int] | None = None) -> Manifests:  # fmt: skip
    """A Seldon Core v2 ``Model`` (MLServer with the mlflow runtime); with ``canary=(model, percent)``
    an ``Experiment`` that sends that share of traffic to another, already deployed, Seldon model."""
    check_k8s_name(name)
    spec = {"storageUri": check_storage(storage_uri), "requirements": ["mlflow"], "replicas": replicas}
    if min_replicas is not None:
        spec["minReplicas"] = min_replicas
    if max_replicas is not None:
        spec["maxReplicas"] = max_replicas
    docs = [{"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Model",
             "metadata": {"name": name, "annotations": _annotations(model)}, "spec": spec}]  # fmt: skip
    if canary:
        other, percent = canary
        check_k8s_name(other)
        if not 0 < percent < 100:
            raise UserInputError(f"--canary {other}:{percent}: the share must be between 1 and 99 percent")
        docs.append({
            "apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Experiment",
            "metadata": {"name": f"{name}-canary", "annotations": _annotations(model)},
            "spec": {"default": name, "candidates": [{"name": name, "weight": 100 - percent},
                                                     {"name": other, "weight": percent}]},
        })  # fmt: skip
    return Manifests("seldon", name, model, docs)


def kserve(model: ModelRef, name: str, storage_uri: str, min_replicas: int | None = None,
           max_replicas: int | None = None, canary_percent: int | None = None) -> Manifests:  # fmt: skip
    """A KServe ``InferenceService``: MLflow format, V2 protocol (served by MLServer)."""
    check_k8s_name(name)
    predictor: dict = {"model": {"modelFormat": {"name": "mlflow"}, "protocolVersion": "v2",
                                 "storageUri": check_storage(storage_uri)}}  # fmt: skip
    if min_replicas is not None:
        predictor["minReplicas"] = min_replicas
    if max_replicas is not None:
        predictor["maxReplicas"] = max_replicas
    if canary_percent is not None:
        if not 0 < canary_percent < 100:
            raise UserInputError("--canary for KServe takes a share between 1 and 99 percent")
        predictor["canaryTrafficPercent"] = canary_percent
    doc = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
           "metadata": {"name": name, "annotations": _annotations(model)}, "spec": {"predictor": predictor}}  # fmt: skip
    return Manifests("kserve", name, model, [doc])


def write(manifests: Manifests, folder) -> Manifests:
    """Write one YAML file per target into ``folder`` (the deployment's folder in the workspace)."""
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{manifests.target}.yaml"
    path.write_text(manifests.yaml)
    manifests.paths = [str(path)]
    return manifests
