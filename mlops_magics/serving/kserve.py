"""``--target kserve``: a KServe ``InferenceService`` with the MLflow format over the V2 protocol
(served by MLServer). KServe's canary is a share of traffic for the latest revision of the same service,
so ``--canary`` takes a percent only; ``--replicas N`` fixes the count (min = max = N).

With ``--entity``, a ``transformer`` that reads the features for the ids from Feast's feature server before
the predictor scores them: KServe's own pattern (its Feast transformer sample, an extra HTTP hop)."""

from __future__ import annotations

from ..errors import UserInputError
from .manifests import ManifestTarget, annotations, split_canary
from .models import ModelRef

TRANSFORMER_IMAGE = "kserve/driver-transformer:latest"  # KServe's Feast transformer sample
FEAST_URL = "http://feast-feature-server:6566"


class KServeTarget(ManifestTarget):
    name = "kserve"
    description = (
        "KServe InferenceService manifest (MLflow format, V2 protocol; a Feast transformer for --entity)"
    )

    def documents(self, model: ModelRef, name: str, storage_uri: str, replicas: int | None = None,
                  min_replicas: int | None = None, max_replicas: int | None = None, canary=None,
                  lookup=None) -> list[dict]:  # fmt: skip
        predictor: dict = {"model": {"modelFormat": {"name": "mlflow"}, "protocolVersion": "v2",
                                     "storageUri": storage_uri}}  # fmt: skip
        if replicas is not None:
            if min_replicas is not None or max_replicas is not None:
                raise UserInputError("--replicas fixes the count; give it, or --min-replicas/--max-replicas")
            min_replicas = max_replicas = replicas
        if min_replicas is not None:
            predictor["minReplicas"] = min_replicas
        if max_replicas is not None:
            predictor["maxReplicas"] = max_replicas
        if canary is not None:
            other, percent = split_canary(canary)
            if other:
                raise UserInputError(
                    f"--canary {canary!r}: a KServe canary sends a share to this service's new revision; "
                    f"type the percent only, e.g. --canary {percent}"
                )
            predictor["canaryTrafficPercent"] = percent
        spec = {"predictor": predictor}
        if lookup is not None:
            spec["transformer"] = {"containers": [{
                "name": "kserve-container", "image": TRANSFORMER_IMAGE,
                "args": ["--feast_serving_url", FEAST_URL, "--entity_ids", lookup.entity,
                         "--feature_refs", *lookup.refs],
            }]}  # fmt: skip
        return [{"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
                 "metadata": {"name": name, "annotations": annotations(model)}, "spec": spec}]  # fmt: skip
