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


def _lineage(views, rows: int | None = None, config=None) -> list[dict]:
    """What a run reading ``views`` records: each view's version, fingerprint, the features read."""
    from .repo import PROJECT, version_data

    return [
        {"view": v.name, "version": (v.tags or {}).get(schema.VIEW_VERSION), "fingerprint": schema.view_fingerprint(v.tags),
         "features": list(names), "entities": list(v.entities), "rows": rows, "project": PROJECT,
         "path": str(version_data(v.name, schema.view_fingerprint(v.tags), config))}
        for v, names in views
    ]  # fmt: skip


def lineage_of(view_names: list[str], config=None) -> list[dict]:
    """The current version of each named view, as a run records it (``%%track --features VIEW,...``)."""
    return _lineage(parse_refs(view_names, config)[1], config=config)


def entities(view: str, config=None):
    """The entity keys and event times of a view's current version, as an entity DataFrame for
    :func:`historical` (e.g. every application an outcome view holds): read from the services, so a
    pipeline step needs no file another step wrote."""
    import pandas as pd

    from .repo import version_data

    v = get_view(view, config)
    fp = schema.view_fingerprint(v.tags)
    path = version_data(view, fp, config, fetch=True) if fp else None
    if path is None or not path.is_file():
        raise UserInputError(f"feature view {view!r} was not registered from a DataFrame (%%feature VIEW --entity "
                             "...): its rows are not kept; pass a DataFrame of keys and event times instead")  # fmt: skip
    columns = [f.name for f in v.entity_columns] + [v.batch_source.timestamp_field]
    df = pd.read_parquet(path, columns=columns)
    ts = columns[-1]
    df[ts] = pd.to_datetime(df[ts], utc=True)
    return df


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
    record_features(_lineage(views, len(entity_df), config), config)
    return df


def online(refs: list[str], entity_rows: list[dict], config=None):
    """Latest feature values for each entity row, as a DataFrame (one row per entity row).

    Missing values stay missing, in the view's types: integers as ``Int64``, booleans as ``boolean``
    (never silently cast to float). An entity the online store does not hold is a row of nulls, and the
    frame says so in ``frame.attrs["notes"]``."""
    import pandas as pd

    if not entity_rows:
        raise UserInputError("name the entities to look up, e.g. --entity applicant_id=17")
    features, dtypes = checked_refs(refs, lambda r: _online_plan(r, config), config)
    try:
        response = store(config).get_online_features(features=features, entity_rows=entity_rows)
    except Exception as exc:
        raise BackendError("feast.FeatureStore.get_online_features", exc) from exc
    values = response.to_dict()
    frame = pd.DataFrame({k: pd.array(v, dtype=dtypes[k]) if k in dtypes else v for k, v in values.items()})
    absent = _not_found(response, len(entity_rows))
    if absent:
        shown = ", ".join(" ".join(f"{k}={v}" for k, v in entity_rows[i].items()) for i in absent[:5])
        more = f" and {len(absent) - 5} more" if len(absent) > 5 else ""
        frame.attrs["notes"] = [f"not in the online store: {shown}{more}; their rows are empty (null)"]
    return frame


PANDAS_DTYPES = {"Int32": "Int32", "Int64": "Int64", "Float32": "Float32", "Float64": "float64", "Bool": "boolean",
                 "String": "object", "UnixTimestamp": "datetime64[ns, UTC]"}  # fmt: skip


def _online_plan(refs: list[str], config=None) -> tuple[list[str], dict[str, str]]:
    """The feature refs to ask Feast for, and the pandas dtype of each column it returns."""
    features, views = parse_refs(refs, config)
    dtypes = {}
    for view, names in views:
        for f in view.schema:
            if f.name in names or f.name in view.entities:
                dtypes[f.name] = PANDAS_DTYPES.get(str(f.dtype), "object")
    return features, dtypes


def _not_found(response, rows: int) -> list[int]:
    """Rows whose every feature came back NOT_FOUND (the entity is not in the online store)."""
    from feast.protos.feast.serving.ServingService_pb2 import FieldStatus

    results = list(response.proto.results)
    statuses = [
        r.statuses
        for r in results
        if len(r.statuses) == rows and any(s != FieldStatus.PRESENT for s in r.statuses)
    ]
    if not statuses:
        return []
    return [i for i in range(rows) if all(st[i] == FieldStatus.NOT_FOUND for st in statuses)]
