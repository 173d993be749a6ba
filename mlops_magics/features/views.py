"""Feature views: plan, apply, materialize, delete — never a half-written store.

Every apply first computes what will change (views and fields added, changed, removed; data changed)
and shows it; ``plan_only`` stops there. Nothing is deleted unless asked (:func:`delete`).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .. import schema
from ..config import get_config
from ..display import Outcome
from ..errors import BackendError, UserInputError
from ..quiet import quiet
from ..workspace import current
from . import frames, remote
from .repo import forget_checked_refs, registry_lock, store, version_data, write_code
from .results import FeatureViewResult, Plan, ViewsTable

FEAST_KINDS = ("Entity", "FeatureView", "BatchFeatureView", "OnDemandFeatureView", "StreamFeatureView",
               "FeatureService", "DataSource")  # fmt: skip


def _existing(fs, kind: str, name: str):
    getters = {
        "Entity": fs.get_entity, "FeatureService": fs.get_feature_service,
        "OnDemandFeatureView": fs.get_on_demand_feature_view, "DataSource": fs.get_data_source,
    }  # fmt: skip
    getter = getters.get(kind, fs.get_feature_view)
    try:
        return getter(name)
    except Exception:
        return None


def kind_of(obj) -> str | None:
    from feast import Entity, FeatureService, FeatureView, OnDemandFeatureView
    from feast.data_source import DataSource

    for cls, kind in ((OnDemandFeatureView, "OnDemandFeatureView"), (FeatureView, "FeatureView"),
                      (Entity, "Entity"), (FeatureService, "FeatureService"), (DataSource, "DataSource")):  # fmt: skip
        if isinstance(obj, cls):
            return kind
    return None


def _fields(view) -> dict[str, str]:
    return {f.name: str(f.dtype) for f in getattr(view, "features", [])}


def plan(fs, objects: list) -> Plan:
    """What applying ``objects`` would change in the registry (compared with what is there now)."""
    p = Plan()
    for obj in objects:
        kind = kind_of(obj)
        old = _existing(fs, kind, obj.name)
        label = f"{kind} {obj.name}"
        if old is None:
            p.added.append(label)
            if kind in ("FeatureView", "OnDemandFeatureView"):
                p.fields_added[obj.name] = sorted(_fields(obj))
            continue
        if kind in ("FeatureView", "OnDemandFeatureView"):
            new_f, old_f = _fields(obj), _fields(old)
            added = sorted(set(new_f) - set(old_f))
            removed = sorted(set(old_f) - set(new_f))
            retyped = sorted(
                f"{k}: {old_f[k]} -> {new_f[k]}" for k in set(new_f) & set(old_f) if new_f[k] != old_f[k]
            )
            old_fp, new_fp = schema.view_fingerprint(old.tags), schema.view_fingerprint(obj.tags)
            data_changed = new_fp is not None and old_fp != new_fp
            if added:
                p.fields_added[obj.name] = added
            if removed:
                p.fields_removed[obj.name] = removed
            if retyped:
                p.fields_changed[obj.name] = retyped
            if data_changed:
                p.data_changed[obj.name] = f"{old_fp} -> {new_fp}"
            other = _spec_differs(old, obj, ignore_tags=True) and not (
                added or removed or retyped or data_changed
            )
            (p.changed if (added or removed or retyped or data_changed or other) else p.unchanged).append(
                label
            )
        else:
            (p.changed if _spec_differs(old, obj) else p.unchanged).append(label)
    return p


def _spec(obj, ignore_tags: bool):
    """The object's definition, without what Feast stamps on each build (meta timestamps)."""
    proto = obj.to_proto()
    spec = proto.spec if hasattr(proto, "spec") else proto  # a DataSource proto is its own spec
    fields = spec.DESCRIPTOR.fields_by_name
    parts = [spec] + [
        getattr(spec, f) for f in ("batch_source", "stream_source") if f in fields and spec.HasField(f)
    ]
    for part in parts:
        if "meta" in part.DESCRIPTOR.fields_by_name:
            part.ClearField("meta")
    if ignore_tags and "tags" in spec.DESCRIPTOR.fields_by_name:
        spec.ClearField("tags")
    return spec.SerializeToString(deterministic=True)


def _definition(obj, ignore_tags: bool):
    """What a user defines, for comparison. Views and services are compared on their declared parts:
    a freshly built object lacks what Feast infers at apply (entity columns, projections)."""
    tags = () if ignore_tags else tuple(sorted((obj.tags or {}).items()))
    kind = kind_of(obj)
    if kind in ("FeatureView", "OnDemandFeatureView"):
        source = getattr(obj, "batch_source", None)
        return (
            tuple(sorted(_fields(obj).items())), tuple(sorted(getattr(obj, "entities", []) or [])),
            str(getattr(obj, "ttl", "")), getattr(obj, "online", None), obj.description, tags,
            (getattr(source, "name", None), getattr(source, "path", None), getattr(source, "timestamp_field", None)),
        )  # fmt: skip
    if kind == "FeatureService":
        projections = tuple(
            sorted((p.name, tuple(sorted(f.name for f in p.features))) for p in obj.feature_view_projections)
        )
        return projections, obj.description, tags
    return _spec(obj, ignore_tags)


def _spec_differs(old, new, ignore_tags: bool = False) -> bool:
    return _definition(old, ignore_tags) != _definition(new, ignore_tags)


def _apply(fs, objects: list, new_files=(), config=None) -> list[str]:
    """Apply under the registry lock, then write the registry out as Feast code (what could not be
    written is returned)."""
    forget_checked_refs(config)
    try:
        with quiet():
            fs.apply(objects)
    except Exception as exc:
        for f in new_files:  # nothing half-written: the data of a view that was not applied goes too
            f.unlink(missing_ok=True)
        raise BackendError("feast.FeatureStore.apply", exc) from exc
    return write_code(fs, config)


def register_frame(df, name: str, entity: str, timestamp: str, ttl: timedelta | None = None,
                   description: str = "", plan_only: bool = False, materialize: bool = True,
                   clean_names: bool = False, config=None) -> FeatureViewResult:  # fmt: skip
    """A DataFrame as a feature view: validated, stored as parquet, applied, materialized. Missing values
    are kept (as nulls). ``clean_names``: columns whose names are not valid feature names are renamed
    (``frames.clean_names``), and the mapping is shown and kept as a view tag."""
    import json

    from feast import Entity, FeatureView, Field, FileSource

    frames.check_name(name)
    renamed = {}
    if clean_names and hasattr(df, "columns"):
        mapping = frames.clean_names(df.columns, keep=(entity, timestamp))
        renamed = {str(k): v for k, v in mapping.items() if k != v}
        df = df.rename(columns=mapping)
    feature_types = frames.validate(df, entity, timestamp)
    data = frames.normalise(df, timestamp)
    fp = frames.fingerprint(data)
    ws = current(config).ensure()
    fs = store(config)
    path = version_data(name, fp, config)
    entity_type = frames.feast_type(data[entity])
    ent = Entity(
        name=entity,
        join_keys=[entity],
        value_type=entity_type.to_value_type(),
        description=f"{entity}: the key of the workspace's feature views",
    )  # the same for every view
    ts_min, ts_max = data[timestamp].min(), data[timestamp].max()
    with registry_lock(ws):
        fs.refresh_registry()
        old = _existing(fs, "FeatureView", name)
        tags = schema.view_tags(fp, len(data), int(data[entity].nunique()), ts_min.isoformat(), ts_max.isoformat(),
                                datetime.now(timezone.utc).isoformat())  # fmt: skip
        if renamed:
            tags[schema.VIEW_RENAMED] = json.dumps(renamed)
        team = remote.services(config or get_config()) if (config or get_config()).server else None
        source_path = (
            f"{team.data_prefix}/{name}/{path.name}" if team else str(path)
        )  # as the server reads it
        view = FeatureView(
            name=name, entities=[ent], ttl=ttl or timedelta(0), online=True, description=description,
            schema=[Field(name=entity, dtype=entity_type), *[Field(name=c, dtype=t) for c, t in feature_types.items()]],
            source=FileSource(name=f"{name}__source", path=source_path, timestamp_field=timestamp),
            tags=tags,
        )  # fmt: skip
        the_plan = plan(fs, [ent, view])
        prev_version = (schema.view_version(old.tags) or 0) if old is not None else 0
        changed = old is None or name in the_plan.data_changed or name in the_plan.fields_changed or \
            name in the_plan.fields_added or name in the_plan.fields_removed  # fmt: skip
        view.tags[schema.VIEW_VERSION] = str(prev_version + 1 if changed else max(prev_version, 1))
        if plan_only:
            return FeatureViewResult.from_frame(
                name, entity, timestamp, view, data, the_plan, applied=False, renamed=renamed
            )
        new_files = []
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".parquet.tmp")
            data.to_parquet(tmp, index=False)
            tmp.replace(path)
            new_files.append(path)
        if team is not None:  # the server's repo reads it from the team's artifacts
            remote.upload(team, name, path)
        the_plan.not_in_code = _apply(fs, [ent, view], new_files, config)
    if materialize:
        _materialize(
            fs,
            [name],
            ts_min.to_pydatetime() - timedelta(seconds=1),
            ts_max.to_pydatetime() + timedelta(seconds=1),
            retry=15 if team is not None else 0,
        )
    return FeatureViewResult.from_frame(
        name, entity, timestamp, view, data, the_plan, applied=True, renamed=renamed
    )


def _materialize(fs, views: list[str], start: datetime, end: datetime, retry: float = 0) -> None:
    """``retry``: seconds to keep trying (the team's feature server sees a new view once its registry
    cache refreshes, up to a few seconds after the apply)."""
    import time

    deadline = time.monotonic() + retry
    while True:
        try:
            with quiet():  # "Materializing 1 feature views ... into the sqlite online store." and a bar
                fs.materialize(start_date=start, end_date=end, feature_views=views)
            return
        except Exception as exc:
            if time.monotonic() >= deadline:
                raise BackendError("feast.FeatureStore.materialize", exc) from exc
            time.sleep(1)


def apply_objects(objects: list, plan_only: bool = False, config=None) -> Plan:
    """Apply Feast objects a cell defined (Mode 2); nothing is deleted."""
    if not objects:
        raise UserInputError("the cell defined no Feast objects (Entity, FeatureView, FeatureService, ...)")
    for obj in objects:
        frames.check_name(obj.name, f"{kind_of(obj)} name")
    ws = current(config).ensure()
    fs = store(config)
    with registry_lock(ws):
        fs.refresh_registry()
        the_plan = plan(fs, objects)
        if not plan_only:
            the_plan.not_in_code = _apply(fs, objects, config=config)
    the_plan.applied = not plan_only
    return the_plan


def materialize(since: datetime | None = None, views: list[str] | None = None, config=None) -> Outcome:
    """Load the offline data of ``views`` (default: every online view) into the online store."""
    fs = store(config)
    fs.refresh_registry()
    names = views or [v.name for v in fs.list_feature_views() if v.online]
    for n in names:
        get_view(n, config)
    now = datetime.now(timezone.utc)
    if since is not None:
        _materialize(fs, names, since, now)
    else:
        try:
            with quiet():
                fs.materialize_incremental(end_date=now, feature_views=names)
        except Exception as exc:
            raise BackendError("feast.FeatureStore.materialize_incremental", exc) from exc
    return Outcome("materialized", names, "feature views", [("until", now.isoformat(timespec="seconds"))])


def get_view(name: str, config=None):
    fs = store(config)
    view = _existing(fs, "FeatureView", name)
    if view is None:
        fs.refresh_registry()
        view = _existing(fs, "FeatureView", name)
    if view is None:
        known = ", ".join(sorted(v.name for v in fs.list_feature_views())) or "none yet"
        raise UserInputError(f"no feature view {name!r}; the workspace has: {known}")
    return view


def show(name: str, config=None) -> FeatureViewResult:
    return FeatureViewResult.from_view(get_view(name, config))


def list_views(config=None) -> ViewsTable:
    fs = store(config)
    fs.refresh_registry()
    return ViewsTable(
        [FeatureViewResult.from_view(v) for v in sorted(fs.list_feature_views(), key=lambda v: v.name)]
    )


def delete(name: str, config=None) -> Outcome:
    """Delete a feature view (its registry entry and online rows), explicitly; the file source
    ``%%feature`` made for it goes too when no other view reads it."""
    ws = current(config).ensure()
    fs = store(config)
    with registry_lock(ws):
        view = get_view(name, config)
        forget_checked_refs(config)
        source = view.batch_source
        shared = [v.name for v in fs.list_feature_views() if v.name != name and
                  getattr(v.batch_source, "name", None) == getattr(source, "name", None)]  # fmt: skip
        own = source is not None and source.name == f"{name}__source" and not shared
        try:
            fs.apply([], objects_to_delete=[view, source] if own else [view], partial=False)
        except Exception as exc:
            raise BackendError("feast.FeatureStore.apply(objects_to_delete)", exc) from exc
        write_code(fs, config)
    return Outcome("deleted", [name], "feature views")
