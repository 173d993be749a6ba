"""Which model a deployment serves: an MLflow model URI resolved to its run and version (lineage)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import UserInputError


@dataclass(frozen=True)
class ModelRef:
    uri: str
    run_id: str | None = None
    name: str | None = None
    version: str | None = None
    artifacts_uri: str | None = None  # what to download, when it differs from ``uri``

    @property
    def download_uri(self) -> str:
        return self.artifacts_uri or self.uri


def resolve_model(uri: str, config=None) -> ModelRef:
    """``models:/NAME@ALIAS``, ``models:/NAME/VERSION``, ``runs:/RUN/PATH`` or ``models:/m-ID``."""
    from ..tracking.store import client, quote

    c = client(config)
    m = re.fullmatch(r"models:/([^/@]+)@([\w-]+)", uri)
    try:
        if m:
            v = c.get_model_version_by_alias(m.group(1), m.group(2))
            return ModelRef(uri, v.run_id, v.name, v.version)
        m = re.fullmatch(r"models:/([^/@]+)/(\d+)", uri)
        if m:
            v = c.get_model_version(m.group(1), m.group(2))
            return ModelRef(uri, v.run_id, v.name, v.version)
        m = re.fullmatch(r"runs:/([0-9a-f]{32})/(.+)", uri)
        if m:
            run = c.get_run(m.group(1))
            # MLflow 3 keeps a model logged with name=NAME as a LoggedModel, outside the run's artifacts
            found = c.search_logged_models([run.info.experiment_id], max_results=1,
                                           filter_string=f"source_run_id = '{m.group(1)}' AND name = {quote(m.group(2))}")  # fmt: skip
            return ModelRef(uri, m.group(1), artifacts_uri=f"models:/{found[0].model_id}" if found else None)
        m = re.fullmatch(r"models:/(m-[0-9a-f]+)", uri)
        if m:
            return ModelRef(uri, c.get_logged_model(m.group(1)).source_run_id)
    except Exception as exc:
        raise UserInputError(
            f"model {uri!r} not found in {c.tracking_uri.split('?')[0]}; see %track models"
        ) from exc
    raise UserInputError(
        f"{uri!r} is not a model URI; type models:/NAME@ALIAS, models:/NAME/VERSION or runs:/RUN_ID/model"
    )


def signature_columns(signature) -> list[dict]:
    """A model signature's input columns: [{"name", "type", "required"}] (none for a tensor signature)."""
    if signature is None or signature.inputs.is_tensor_spec() or not signature.inputs.has_input_names():
        return []
    return [{"name": c.name, "type": getattr(c.type, "name", str(c.type)), "required": c.required}
            for c in signature.inputs.inputs]  # fmt: skip


def model_inputs(uri: str, config=None) -> list[dict]:
    """The input columns of the model at ``uri`` (a folder, or a URI: only its MLmodel file is read)."""
    from mlflow.models import get_model_info

    from ..tracking.store import client

    client(config)
    return signature_columns(get_model_info(uri).signature)
