"""``--target seldon``: a Seldon Core v2 ``Model`` (MLServer with the mlflow runtime); with a canary, an
``Experiment`` that sends a share of the traffic to another, already deployed, Seldon model.

With ``--entity``, a ``Pipeline`` of two steps: a lookup ``Model`` (MLServer running the package's Feast
lookup runtime: ids in, features out) feeding the model. The lookup model's folder is written beside the
manifests (``deployments/NAME/lookup/``) to be uploaded to ``STORAGE_URI-lookup``; its
``feature_store.yaml`` must point at a registry and online store the cluster reaches (e.g. Redis)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..errors import UserInputError
from .manifests import ManifestTarget, annotations, check_k8s_name, split_canary
from .models import ModelRef

API = "mlops.seldon.io/v1alpha1"


class SeldonTarget(ManifestTarget):
    name = "seldon"
    description = (
        "Seldon Core v2 Model (and Experiment for a canary, Pipeline with a lookup for --entity) manifests"
    )

    def documents(self, model: ModelRef, name: str, storage_uri: str, replicas: int | None = None,
                  min_replicas: int | None = None, max_replicas: int | None = None, canary=None,
                  lookup=None) -> list[dict]:  # fmt: skip
        spec = {
            "storageUri": storage_uri,
            "requirements": ["mlflow"],
            "replicas": 1 if replicas is None else replicas,
        }
        if min_replicas is not None:
            spec["minReplicas"] = min_replicas
        if max_replicas is not None:
            spec["maxReplicas"] = max_replicas
        docs = [{"apiVersion": API, "kind": "Model", "metadata": {"name": name, "annotations": annotations(model)},
                 "spec": spec}]  # fmt: skip
        if canary:
            other, percent = split_canary(canary)
            if not other:
                raise UserInputError(
                    f"--canary {canary!r}: Seldon needs the other model's name, e.g. --canary challenger:10"
                )
            check_k8s_name(other, "--canary")
            docs.append({
                "apiVersion": API, "kind": "Experiment",
                "metadata": {"name": f"{name}-canary", "annotations": annotations(model)},
                "spec": {"default": name, "candidates": [{"name": name, "weight": 100 - percent},
                                                         {"name": other, "weight": percent}]},
            })  # fmt: skip
        if lookup is not None:
            step = f"{name}-lookup"
            docs.append({"apiVersion": API, "kind": "Model", "metadata": {"name": step, "annotations": annotations(model)},
                         "spec": {"storageUri": f"{storage_uri.rstrip('/')}-lookup", "requirements": ["mlserver"],
                                  "replicas": spec["replicas"]}})  # fmt: skip
            docs.append({"apiVersion": API, "kind": "Pipeline",
                         "metadata": {"name": f"{name}-by-{lookup.entity.replace('_', '-')}", "annotations": annotations(model)},
                         "spec": {"steps": [{"name": step}, {"name": name, "inputs": [step]}],
                                  "output": {"steps": [name]}}})  # fmt: skip
        return docs

    def extra_files(self, manifests, lookup, folder: Path) -> list[str]:
        """The lookup model's folder: model settings, the runtimes, the workspace's feature_store.yaml."""
        here = Path(__file__).parent
        target = folder / "lookup"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(here / "mlserver_runtime.py", target / "mlops_magics_runtime.py")
        shutil.copy(here / "mlserver_entity.py", target / "mlops_magics_entity.py")
        shutil.copy(Path(lookup.repo) / "feature_store.yaml", target / "feature_store.yaml")
        settings = {"name": f"{manifests.name}-lookup", "implementation": "mlops_magics_entity.FeastLookupRuntime",
                    "parameters": {"uri": ".", "extra": {"lookup": {**lookup.settings(), "repo": "."}}}}  # fmt: skip
        (target / "model-settings.json").write_text(json.dumps(settings, indent=2))
        return [str(target)]
