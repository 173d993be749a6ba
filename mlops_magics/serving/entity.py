"""Deployments keyed by entity: the endpoint takes the entity key (``applicant_id``) and reads the
model's features from the online store itself, with Feast's own SDK inside the serving process, so a
service calling it needs nothing but the id.

Which features: those the model's run trained on (its lineage: the views and features ``%feature get``
recorded), matched to the model's input columns; ``--features VIEW:f1,f2`` overrides. The deployment
says which views and versions it serves, and warns when a view has a newer version than the model saw.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .. import schema
from ..errors import UserInputError

MISSING = ("error", "null")
ENTITY_TYPES = {"Int64": "long", "Int32": "integer", "String": "string"}


@dataclass
class Lookup:
    entity: str
    entity_type: str  # the model signature's name for it: long, integer or string
    refs: list[str]  # view:feature, in the model's column order
    repo: str  # the workspace's Feast folder (feature_store.yaml): the same online store as the notebook
    missing: str = "error"  # an unknown entity: a 404, or nulls passed to the model
    views: list[dict] = field(default_factory=list)  # [{"view", "trained_version", "version", "features"}]
    warnings: list[str] = field(default_factory=list)

    def settings(self) -> dict:
        return {"entity": self.entity, "entity_type": self.entity_type, "refs": self.refs, "repo": self.repo,
                "missing": self.missing}  # fmt: skip

    def to_record(self) -> dict:
        return asdict(self)


def plan(run_id: str | None, inputs: list[dict], entity: str, features: list[str] | None = None,
         missing: str = "error", config=None) -> Lookup:  # fmt: skip
    """What the endpoint looks up for each entity, checked against the registry before anything starts."""
    from ..features import parse_refs
    from ..features.repo import store

    if missing not in MISSING:
        raise UserInputError(
            f"--missing {missing!r}: use error (a 404 naming the ids) or null (nulls to the model)"
        )
    if not inputs:
        raise UserInputError(
            "--entity needs a model with a column signature (log it with %%track ... --model VAR)"
        )
    columns = [c["name"] for c in inputs]
    trained = _trained_views(run_id, config)
    if features:
        _, views = parse_refs(features, config)
    else:
        if not trained:
            raise UserInputError(f"the model's run {run_id} recorded no feature views (it read none with %feature get); "
                                 "name them with --features VIEW:f1,f2")  # fmt: skip
        _, views = parse_refs([u["view"] for u in trained], config)
    source = {}  # column -> view that has it
    for view, names in views:
        for name in names:
            source.setdefault(name, view)
    absent = [c for c in columns if c not in source]
    if absent:
        raise UserInputError(f"the model's input(s) {', '.join(absent[:8])} are not features of "
                             f"{', '.join(v.name for v, _ in views)}; name the views with --features VIEW:f1,f2")  # fmt: skip
    used = {source[c].name: source[c] for c in columns}
    without = [name for name, v in used.items() if entity not in v.entities]
    if without:
        keys = sorted({k for v in used.values() for k in v.entities})
        raise UserInputError(
            f"--entity {entity!r} is not the key of {', '.join(without)}; its key: {', '.join(keys)}"
        )
    entity_field = next(f for v in used.values() for f in v.schema if f.name == entity)
    lookup = Lookup(entity, ENTITY_TYPES.get(str(entity_field.dtype), "string"), [f"{source[c].name}:{c}" for c in columns],
                    str(store(config).repo_path), missing)  # fmt: skip
    versions = {u["view"]: u.get("version") for u in trained}
    for name, view in used.items():
        now, then = schema.view_version(view.tags), versions.get(name)
        lookup.views.append({"view": name, "version": now, "trained_version": then,
                             "features": [c for c in columns if source[c].name == name]})  # fmt: skip
        if then is not None and now is not None and int(then) < now:
            lookup.warnings.append(
                f"feature view {name} is now version {now}; the model was trained on version {then}"
            )
    return lookup


def _trained_views(run_id: str | None, config=None) -> list[dict]:
    if not run_id:
        return []
    from ..tracking import get_run

    return schema.features_used(get_run(run_id, config).tags)
