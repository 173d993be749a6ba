"""Kubernetes manifests for a model: what the ``seldon`` and ``kserve`` targets share.

The model's MLflow folder must be reachable by the cluster at ``storage_uri`` (s3://, gs://, ...).
Lineage travels as annotations (``mlops-magics/model-uri``, ``mlops-magics/run-id``, ...; see schema).
The manifests are written to the workspace's ``deployments/NAME/TARGET.yaml`` for ``kubectl apply -f``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .. import schema
from ..display import Card, Result
from ..errors import UserInputError
from ..workspace import current
from .models import ModelRef, model_inputs
from .target import Target

DNS1123 = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
STORAGE = re.compile(r"(s3|gs|gcs|azure|https?|pvc|hf|oci)://.+")


def check_k8s_name(name: str, option: str = "--name") -> None:
    if not isinstance(name, str) or not name or len(name) > 63 or not DNS1123.fullmatch(name):
        raise UserInputError(
            f"{option} {name!r} is not a valid Kubernetes name: lower-case letters, digits and '-', e.g. credit-risk"
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


def check_replicas(**counts: int | None) -> None:
    for option, value in counts.items():
        if value is not None and not 0 <= int(value) <= 10_000:
            raise UserInputError(
                f"--{option.replace('_', '-')} {value}: give a number of replicas from 0 to 10000"
            )


def split_canary(text) -> tuple[str | None, int]:
    """``"challenger:10"`` -> ("challenger", 10); ``"10"`` or ``10`` -> (None, 10); percent in 1..99."""
    name, _, share = str(text).rpartition(":")
    try:
        percent = int(share)
    except ValueError:
        raise UserInputError(f"--canary {text!r}: type MODEL:PERCENT, e.g. --canary challenger:10") from None
    if not 0 < percent < 100:
        raise UserInputError(f"--canary {text!r}: the share must be between 1 and 99 percent")
    return name or None, percent


@dataclass
class Manifests(Result):
    target: str
    name: str
    model: ModelRef
    documents: list[dict] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    applied: list[tuple] = field(
        default_factory=list
    )  # (kind, name, namespace, created|replaced) with --apply

    @property
    def yaml(self) -> str:
        import yaml

        return "---\n".join(yaml.safe_dump(d, sort_keys=False) for d in self.documents)

    def card(self) -> Card:
        kinds = ", ".join(f"{d['kind']} {d['metadata']['name']}" for d in self.documents)
        facts = [("target", self.target), ("resources", kinds), ("model", self.model.uri),
                 ("run", self.model.run_id), ("written to", ", ".join(self.paths) or None),
                 ("applied", "; ".join(f"{k} {n} {how} in {ns}" for k, n, ns, how in self.applied) or None)]  # fmt: skip
        notes = [] if self.applied else ["kubectl apply -f " + p for p in self.paths]
        return Card(f"Manifests for {self.name}", facts, notes=notes, kind="manifests")


def annotations(model: ModelRef) -> dict:
    return schema.annotations(model.uri, model.run_id, model.name, model.version)


def write(manifests: Manifests, folder) -> Manifests:
    """Write one YAML file per target into ``folder`` (the deployment's folder in the workspace)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{manifests.target}.yaml"
    path.write_text(manifests.yaml)
    manifests.paths = [str(path)]
    return manifests


def written(config=None) -> list[tuple[str, str, Path, list[dict]]]:
    """Every manifest file in the workspace: (deployment name, target, path, documents)."""
    import yaml

    out = []
    for path in sorted(current(config).deployments_dir.glob("*/*.yaml")):
        try:
            docs = [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
        except yaml.YAMLError:
            continue
        out.append((path.parent.name, path.stem, path, docs))
    return out


def for_run(run_id: str, config=None) -> list[tuple[str, str, Path]]:
    """The manifests written for the model of ``run_id``: (deployment name, target, path)."""
    return [(name, target, path) for name, target, path, docs in written(config)
            if any(schema.annotated_run(d) == run_id for d in docs)]  # fmt: skip


class ManifestTarget(Target):
    """A target that writes manifests: resolve the model, build the documents, write them. With
    ``entity``, the cluster serves by entity id too: the lookup is planned as for a local deployment
    (serving/entity.py) and each target writes its own form of it."""

    options = ("storage_uri", "replicas", "min_replicas", "max_replicas", "canary", "entity", "features", "missing",
               "apply", "namespace")  # fmt: skip

    def documents(self, model: ModelRef, name: str, lookup=None, **options) -> list[dict]:  # pragma: no cover
        raise NotImplementedError

    def extra_files(self, manifests: Manifests, lookup, folder: Path) -> list[str]:
        return []

    def deploy(self, model_uri: str, name: str, *, config=None, log=print, entity=None, features=None,
               missing="error", apply=False, namespace=None, **options) -> Manifests:  # fmt: skip
        from .models import resolve_model

        check_k8s_name(name)
        check_storage(options.get("storage_uri"))
        check_replicas(**{k: options.get(k) for k in ("replicas", "min_replicas", "max_replicas")})
        model = resolve_model(model_uri, config)
        lookup = None
        if entity:
            from .entity import plan

            lookup = plan(
                model.run_id, model_inputs(model.download_uri, config), entity, features, missing, config
            )
        elif features:
            raise UserInputError(
                "--features goes with --entity: it names what the endpoint looks up for each id"
            )
        result = Manifests(self.name, name, model, self.documents(model, name, lookup=lookup, **options))
        folder = current(config).ensure().deployment_dir(name)
        write(result, folder)
        if lookup is not None:
            result.paths += self.extra_files(result, lookup, folder)
        if apply:  # written first: what was sent to the cluster is on disk too
            from .apply import apply as apply_documents

            result.applied = apply_documents(result.documents, namespace)
        elif namespace:
            raise UserInputError("--namespace goes with --apply (the cluster's namespace to create them in)")
        return result
