"""Training sets (point-in-time correct) and online lookups, with lineage recorded for the run."""

from __future__ import annotations

from .. import schema
from ..errors import BackendError, UserInputError
from .repo import checked_refs, store
from .views import get_view


def parse_refs(refs: list[str], config=None) -> tuple[list[str], list]:
    """``["view:f1,f2", "other"]`` -> (["view:f1", "view:f2", "other:..."], [views]); unknown -> UsageError."""
    if not refs:
        raise UserInputError("name the features, e.g. applicant_profile:age,credit_amount (or a whole view)")
    out, views = [], []
    for ref in refs:
        view_name, _, names = ref.partition(":")
        view = get_view(view_name, config)
        known = [f.name for f in view.features]
        wanted = [n.strip() for n in names.split(",") if n.strip()] if names else known
        unknown = [n for n in wanted if n not in known]
        if unknown:
            raise UserInputError(
                f"feature view {view_name!r} has no field {unknown[0]!r}; it has: {', '.join(known)}"
            )
        out += [f"{view_name}:{n}" for n in wanted]
        views.append((view, wanted))
    return out, views


def _lineage(views) -> list[dict]:
    return [
        {"view": v.name, "version": (v.tags or {}).get(schema.VIEW_VERSION), "fingerprint": schema.view_fingerprint(v.tags),
         "features": list(names), "entities": list(v.entities)}
        for v, names in views
    ]  # fmt: skip


def historical(refs: list[str], entity_df, config=None):
    """Point-in-time correct features for each (entity, timestamp) row of ``entity_df``."""
    import pandas as pd

    from ..tracking.inputs import record_features

    if not isinstance(entity_df, pd.DataFrame) or entity_df.empty:
        raise UserInputError("--entities must name a non-empty DataFrame of entity keys and event timestamps")
    features, views = parse_refs(refs, config)
    keys = {k for v, _ in views for k in v.entities}
    missing = sorted(k for k in keys if k not in entity_df.columns)
    if missing:
        raise UserInputError(
            f"--entities frame lacks the entity column {missing[0]!r}; its columns: {', '.join(entity_df.columns)}"
        )
    if not any(pd.api.types.is_datetime64_any_dtype(entity_df[c]) for c in entity_df.columns):
        raise UserInputError(
            "--entities frame needs an event timestamp column (datetimes) for point-in-time joins"
        )
    try:
        df = store(config).get_historical_features(entity_df=entity_df, features=features).to_df()
    except Exception as exc:
        raise BackendError("feast.FeatureStore.get_historical_features", exc) from exc
    record_features(_lineage(views))
    return df


def online(refs: list[str], entity_rows: list[dict], config=None):
    """Latest feature values for each entity row, as a DataFrame (one row per entity row)."""
    import pandas as pd

    if not entity_rows:
        raise UserInputError("name the entities to look up, e.g. --entity applicant_id=17")
    features = _online_refs(refs, config)
    try:
        values = store(config).get_online_features(features=features, entity_rows=entity_rows).to_dict()
    except Exception as exc:
        raise BackendError("feast.FeatureStore.get_online_features", exc) from exc
    return pd.DataFrame(values)


def _online_refs(refs: list[str], config=None) -> list[str]:
    """Checked once per list of refs (the lookup path must stay within 0.5 ms of raw Feast)."""
    return checked_refs(refs, lambda r: parse_refs(r, config)[0], config)
