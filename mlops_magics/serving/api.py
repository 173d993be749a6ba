"""``deploy``: one entry point for every target, taking what ``%deploy`` takes — a model URI or a fitted
model (logged in a run of its own first, so the deployment keeps its lineage)."""

from __future__ import annotations

from .. import schema
from ..errors import UserInputError
from .manifests import check_k8s_name
from .target import TARGETS


def deploy(model, name: str, *, target: str = "local", input_example=None, config=None, log=print, **options):
    """Serve ``model`` as ``name`` on ``target`` (``local``, ``seldon``, ``kserve``, or a registered one).

    ``model``: ``models:/NAME@ALIAS``, ``models:/NAME/VERSION``, ``runs:/RUN_ID/model``, or a fitted
    estimator (``input_example``: features for its signature). ``options`` go to the target, which
    refuses those it does not take. Returns the target's result: a :class:`Deployment` or
    :class:`Manifests`.
    """
    target_cls = TARGETS.get(target)
    TARGETS.check_options(target_cls, options)
    check_k8s_name(name)
    if isinstance(model, str):
        if ":/" not in model:
            raise UserInputError(
                f"{model!r} is neither a model URI (models:/NAME@ALIAS, runs:/ID/model) nor a fitted model"
            )
        if input_example is not None:
            raise UserInputError(
                "--input goes with a fitted model variable; a logged model has its own example"
            )
        model_uri = model
    else:
        from ..tracking import log_fitted
        from ..tracking.models import example_rows

        run = log_fitted(model, f"deploy-{name}", example_rows(input_example),
                         tags={schema.LOGGED_FOR: f"%deploy --name {name}"}, config=config)  # fmt: skip
        model_uri = run.model_uri
    return target_cls().deploy(model_uri, name, config=config, log=log, **options)
