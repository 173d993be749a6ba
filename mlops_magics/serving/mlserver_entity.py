"""The MLServer runtimes of a deployment keyed by entity: copied beside ``mlops_magics_runtime.py`` into
the deployment's folder and run inside the serving environment (which then holds Feast too).

A request carries the entity key only (``applicant_id``, one or more rows). Before adaptive batching
merges it with others, the runtime reads the model's features for those ids from the workspace's online
store with Feast's own SDK (``FeatureStore.get_online_features``) and puts them in the request, so the
model scores exactly the features its run trained on, as they are now. An id the store does not hold is
``404`` naming it (or, with ``missing: null``, a row of nulls for the model to handle); a store that does
not answer is ``503`` with the reason, and the server stays up. The request log gets the ids, the feature
values served, the view versions read and the prediction.

``FeastLookupRuntime`` is the lookup alone (ids in, features out): the first step of a Seldon Core v2
``Pipeline`` whose second step is the model.
"""

import os

from mlops_magics_runtime import BadRequest, LoggingMLflowRuntime, flat, settle
from mlserver import MLModel
from mlserver.errors import MLServerError

DATATYPES = {"long": "INT64", "integer": "INT32", "double": "FP64", "float": "FP32", "string": "BYTES",
             "boolean": "BOOL"}  # fmt: skip


class UnknownEntity(MLServerError):
    def __init__(self, message: str):
        super().__init__(message, status_code=404)


class StoreUnavailable(MLServerError):
    def __init__(self, message: str):
        super().__init__(message, status_code=503)


def _open_store(FeatureStore, repo: str):
    """The store as the notebook opened it: against the team's Feast servers the token comes from the
    server's environment (MLOPS_TOKEN), never from the yaml (features/remote.py does the same)."""
    token = os.environ.get("MLOPS_TOKEN")
    if token:
        import yaml

        with open(os.path.join(repo, "feature_store.yaml")) as f:
            doc = yaml.safe_load(f)
        if (doc.get("registry") or {}).get("registry_type") == "remote":
            import jwt
            from feast.repo_config import RepoConfig

            auth = {"type": "oidc", "token": jwt.encode({"preferred_username": token}, "", algorithm="none")}
            return FeatureStore(repo_path=repo, config=RepoConfig(repo_path=repo, **doc, auth=auth))
    return FeatureStore(repo_path=repo)


class Lookup:
    """Feast's online store, read for a request's entity ids."""

    def _setup_lookup(self, lookup: dict, folder: str) -> None:
        from feast import FeatureStore
        from mlserver.types import MetadataTensor

        self._entity, self._missing = lookup["entity"], lookup.get("missing", "error")
        self._entity_type, self._refs = lookup["entity_type"], lookup["refs"]
        repo = os.path.join(folder, lookup.get("repo") or ".")
        self._store = _open_store(FeatureStore, repo)
        self._registry, self._registry_seen, self._versions = os.path.join(repo, "registry.db"), None, {}
        self.inputs = [
            MetadataTensor(name=self._entity, datatype=DATATYPES.get(self._entity_type, "BYTES"), shape=[-1])
        ]

    def _ids(self, payload) -> tuple[list, object]:
        given = [i for i in payload.inputs if i.name == self._entity]
        if not given:
            raise BadRequest(f"the request has no input {self._entity!r}; send the ids, e.g. "
                             f'{{"name": "{self._entity}", "datatype": "{DATATYPES.get(self._entity_type)}", "shape": [1], "data": [17]}}')  # fmt: skip
        ids = flat(given[0].data.root)
        numbers = self._entity_type in ("long", "integer")
        if numbers:
            bad = [v for v in ids if not isinstance(v, int) or isinstance(v, bool)]
        else:
            bad = [v for v in ids if not isinstance(v, str)]
        if not ids or bad:
            raise BadRequest(f"input {self._entity!r}: give {'whole numbers' if numbers else 'text'} ids, "
                             f"got {bad[0] if bad else 'none'!r}")  # fmt: skip
        return ids, given[0]

    def _lookup(self, ids: list) -> dict:
        """{feature: [values]} for ``ids``; an unknown id is a 404 unless nulls were asked for."""
        from feast.protos.feast.serving.ServingService_pb2 import FieldStatus

        self._refresh()
        try:
            response = self._store.get_online_features(
                features=self._refs, entity_rows=[{self._entity: v} for v in ids]
            )
        except Exception as exc:  # the store is down or unreadable: the server stays up
            raise StoreUnavailable(
                f"the feature store did not answer: {type(exc).__name__}: {str(exc)[:300]}"
            ) from None
        statuses = [
            r.statuses for r in response.proto.results if any(s != FieldStatus.PRESENT for s in r.statuses)
        ]
        absent = [
            v
            for i, v in enumerate(ids)
            if statuses and all(st[i] == FieldStatus.NOT_FOUND for st in statuses)
        ]
        if absent and self._missing == "error":
            shown = ", ".join(map(str, absent[:10])) + (
                f" and {len(absent) - 10} more" if len(absent) > 10 else ""
            )
            raise UnknownEntity(f"unknown {self._entity}: {shown} (not in the online store)")
        return response.to_dict()

    def _refresh(self) -> None:
        """A view re-registered in the notebook: read the registry again (its file changed)."""
        try:
            stamp = os.stat(self._registry).st_mtime_ns
        except OSError:
            return
        if stamp != self._registry_seen:
            if self._registry_seen is not None:
                self._store.refresh_registry()
            self._registry_seen = stamp
            views = {r.split(":", 1)[0] for r in self._refs}
            self._versions = {
                v: (self._store.get_feature_view(v).tags or {}).get("mlops_magics.version") for v in views
            }


class EntityMLflowRuntime(Lookup, LoggingMLflowRuntime):
    """Ids in, the model's features looked up, prediction and probabilities out."""

    async def load(self) -> bool:
        ready = await super().load()
        self._setup_lookup((self._settings.parameters.extra or {})["lookup"], os.getcwd())
        settle()  # again: the feature store and its client were made after the model
        return ready

    def _check(self, payload) -> None:
        """The ids in, the features (as the model's signature wants them) added: per request, before
        batching, so an unknown id fails its own request only."""
        from mlserver.types import RequestInput

        ids, given = self._ids(payload)
        values = self._lookup(ids)
        inputs = [RequestInput(name=self._entity, shape=[len(ids)], datatype=given.datatype, data=ids)]
        for name, column in self._columns.items():
            kind = getattr(column.type, "name", str(column.type))
            data = values[name]
            if kind in ("long", "integer") and any(v is None for v in data):
                row = data.index(None)
                raise BadRequest(f"feature {name!r} has no value for {self._entity}={ids[row]}, and the model's "
                                 f"{name} is an integer column (log the model with the column as float)")  # fmt: skip
            if kind in ("double", "float"):
                data = [None if v is None else float(v) for v in data]
            inputs.append(
                RequestInput(name=name, shape=[len(ids)], datatype=DATATYPES.get(kind, "BYTES"), data=data)
            )
        payload.inputs = inputs

    def _log_extra(self) -> dict:
        return {"views": self._versions}  # which version of each view the served values belong to


class FeastLookupRuntime(Lookup, MLModel):
    """The lookup alone, for a pipeline of two steps on a cluster: ids in, the features out."""

    async def load(self) -> bool:
        from mlserver.utils import get_model_uri

        folder = await get_model_uri(self._settings)  # the uploaded lookup folder (feature_store.yaml)
        self._setup_lookup((self._settings.parameters.extra or {})["lookup"], folder)
        settle()
        return True

    async def predict(self, payload):
        from mlserver.types import InferenceResponse, ResponseOutput

        ids, given = self._ids(payload)
        values = self._lookup(ids)
        outputs = [ResponseOutput(name=self._entity, shape=[len(ids)], datatype=given.datatype, data=ids)]
        for ref in self._refs:
            name = ref.split(":", 1)[1]
            data = values[name]
            kind = "BYTES" if any(isinstance(v, str) for v in data) else "BOOL" if any(isinstance(v, bool) for v in data) \
                else "FP64"  # fmt: skip
            if kind == "FP64":
                data = [None if v is None else float(v) for v in data]
            outputs.append(ResponseOutput(name=name, shape=[len(ids)], datatype=kind, data=data))
        return InferenceResponse(model_name=self.name, outputs=outputs)
