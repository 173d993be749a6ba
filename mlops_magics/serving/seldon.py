"""``--target seldon``: a Seldon Core v2 ``Model`` (MLServer with the mlflow runtime); with a canary, an
``Experiment`` that sends a share of the traffic to another, already deployed, Seldon model."""

from __future__ import annotations

from ..errors import UserInputError
from .manifests import ManifestTarget, annotations, check_k8s_name, split_canary
from .models import ModelRef


class SeldonTarget(ManifestTarget):
    name = "seldon"
    description = "Seldon Core v2 Model (and Experiment for a canary) manifests"
    options = ("storage_uri", "replicas", "min_replicas", "max_replicas", "canary")

    def documents(self, model: ModelRef, name: str, storage_uri: str, replicas: int | None = None,
                  min_replicas: int | None = None, max_replicas: int | None = None, canary=None) -> list[dict]:  # fmt: skip
        spec = {
            "storageUri": storage_uri,
            "requirements": ["mlflow"],
            "replicas": 1 if replicas is None else replicas,
        }
        if min_replicas is not None:
            spec["minReplicas"] = min_replicas
        if max_replicas is not None:
            spec["maxReplicas"] = max_replicas
        docs = [{"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Model",
                 "metadata": {"name": name, "annotations": annotations(model)}, "spec": spec}]  # fmt: skip
        if canary:
            other, percent = split_canary(canary)
            if not other:
                raise UserInputError(
                    f"--canary {canary!r}: Seldon needs the other model's name, e.g. --canary challenger:10"
                )
            check_k8s_name(other, "--canary")
            docs.append({
                "apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Experiment",
                "metadata": {"name": f"{name}-canary", "annotations": annotations(model)},
                "spec": {"default": name, "candidates": [{"name": name, "weight": 100 - percent},
                                                         {"name": other, "weight": percent}]},
            })  # fmt: skip
        return docs
