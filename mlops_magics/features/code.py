"""The workspace's Feast folder as a Feast repo: the registry written out as Feast Python code.

After every registry write (under the registry lock) the definitions are rendered from the registry
into ``mlops_definitions.py`` beside ``feature_store.yaml``: entities, file sources, feature views and
feature services, with their tags. So ``feast plan`` in the folder reports no changes, ``feast apply``
keeps everything, and the folder is a repo a team can commit. The file is rewritten from the registry
each time, never patched: a stale file would make ``feast apply`` roll views back or delete new ones.

Two things Feast compares that a plain definitions file does not reproduce are pinned here: a data
source's meta timestamps (``DataSource.__init__`` stamps both with *now*, and the plan compares them),
and the registry's record of the online store's tables (``FeatureStore.apply`` creates the tables but,
unlike the CLI, does not record them, so the next ``feast plan`` would say "Created sqlite table").
"""

from __future__ import annotations

import os
from pathlib import Path

FILE = "mlops_definitions.py"
HEADER = '''"""Feast definitions of this workspace, written by mlops_magics from the registry after every change.

`feast plan` in this folder reports no changes; `feast apply` keeps everything. Edit and apply as with
any Feast repo: the next write from a notebook rewrites this file from the registry (with your change).
"""

from datetime import datetime, timedelta

from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
from feast.types import (Array, Bool, Bytes, Float32, Float64, Int32, Int64, Json, Map, String,
                         UnixTimestamp)
'''
DUMMY = "__dummy"  # feast.feature_view.DUMMY_ENTITY_NAME
_TYPES = {"Bool", "Bytes", "Float32", "Float64", "Int32", "Int64", "Json", "Map", "String", "UnixTimestamp"}


class Unsupported(Exception):
    """An object this renderer cannot write as code (it is listed in the file instead)."""


def _py(prefix: str, name: str, taken: set[str]) -> str:
    base = prefix + "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    out, n = base, 2
    while out in taken:
        out, n = f"{base}_{n}", n + 1
    taken.add(out)
    return out


def _dtype(dtype) -> str:
    text = str(dtype)
    inner = text[6:-1] if text.startswith("Array(") and text.endswith(")") else text
    if inner not in _TYPES:
        raise Unsupported(f"type {text}")
    return text


def _ttl(td) -> str:
    seconds = td.total_seconds() if td else 0
    return f"timedelta(seconds={int(seconds) if seconds == int(seconds) else seconds!r})"


def _kwargs(pairs: list[tuple[str, str]], indent: str = "    ") -> str:
    return "".join(f"{indent}{k}={v},\n" for k, v in pairs)


def render_entity(e, var: str) -> str:
    pairs = [
        ("name", repr(e.name)),
        ("join_keys", repr([e.join_key])),
        ("value_type", f"ValueType.{e.value_type.name}"),
    ]
    pairs += [(k, repr(v)) for k, v in (("description", e.description), ("tags", dict(e.tags or {})),
                                         ("owner", e.owner)) if v]  # fmt: skip
    return f"{var} = Entity(\n{_kwargs(pairs)})\n"


def render_source(s, var: str) -> str:
    from feast import FileSource
    from feast.data_format import ParquetFormat

    if type(s) is not FileSource:
        raise Unsupported(f"a {type(s).__name__}")
    if not isinstance(s.file_format, ParquetFormat | type(None)) or s.s3_endpoint_override:
        raise Unsupported("a file source that is not plain parquet")
    pairs = [("name", repr(s.name)), ("path", repr(s.path)), ("timestamp_field", repr(s.timestamp_field))]
    pairs += [(k, repr(v)) for k, v in (("created_timestamp_column", s.created_timestamp_column),
                                         ("field_mapping", dict(s.field_mapping or {})), ("description", s.description),
                                         ("tags", dict(s.tags or {})), ("owner", s.owner)) if v]  # fmt: skip
    text = f"{var} = FileSource(\n{_kwargs(pairs)})\n"
    pins = [(attr, getattr(s, attr, None)) for attr in ("created_timestamp", "last_updated_timestamp")]
    if any(value is not None for _, value in pins):
        text += "# the registry's own timestamps: Feast compares them too (else `feast plan` always says Updated)\n"
        text += "".join(
            f"{var}.{attr} = datetime.fromisoformat({value.isoformat()!r})\n" for attr, value in pins if value
        )
    return text


def render_view(v, var: str, entities: dict[str, str], sources: dict[str, str]) -> str:
    from feast import FeatureView

    if type(v) is not FeatureView:
        raise Unsupported(f"a {type(v).__name__}")
    if v.stream_source is not None or v.batch_source is None or v.batch_source.name not in sources:
        raise Unsupported("a view without a file source")
    fields = []
    for f in [*v.entity_columns, *v.features]:
        extra = "".join(
            f", {k}={val!r}"
            for k, val in (("description", getattr(f, "description", "")), ("tags", dict(f.tags or {})))
            if val
        )
        fields.append(f"        Field(name={f.name!r}, dtype={_dtype(f.dtype)}{extra}),\n")
    keys = [entities[e] for e in v.entities if e != DUMMY]  # an entityless view has Feast's dummy entity
    pairs = [("name", repr(v.name)), ("entities", "[" + ", ".join(keys) + "]"),
             ("ttl", _ttl(v.ttl)), ("online", repr(v.online))]  # fmt: skip
    pairs += [
        (k, repr(val))
        for k, val in (
            ("offline", getattr(v, "offline", False)),
            ("description", v.description),
            ("owner", v.owner),
        )
        if val
    ]
    pairs += [("schema", "[\n" + "".join(fields) + "    ]"), ("source", sources[v.batch_source.name])]
    if v.tags:  # one tag a line: a change reads as one line in a diff
        pairs.append(
            ("tags", "{\n" + "".join(f"        {k!r}: {t!r},\n" for k, t in sorted(v.tags.items())) + "    }")
        )
    return f"{var} = FeatureView(\n{_kwargs(pairs)})\n"


def render_service(fs_, var: str, views: dict[str, str]) -> str:
    parts = []
    for p in fs_.feature_view_projections:
        if p.name not in views or p.name_alias or p.join_key_map:
            raise Unsupported("a feature service over views this file does not hold, or renamed projections")
        parts.append(f"{views[p.name]}[{[f.name for f in p.features]!r}]")
    pairs = [("name", repr(fs_.name)), ("features", "[" + ", ".join(parts) + "]")]
    pairs += [(k, repr(v)) for k, v in (("description", fs_.description), ("tags", dict(fs_.tags or {})),
                                         ("owner", fs_.owner)) if v]  # fmt: skip
    return f"{var} = FeatureService(\n{_kwargs(pairs)})\n"


def render(fs, feature_views=None) -> tuple[str, list[str]]:
    """The registry of ``fs`` as Feast code, and what could not be written (``kind name: why``).
    ``feature_views``: ``fs.list_feature_views()`` when the caller has it (Feast's listing is the cost)."""
    taken: set[str] = set()
    skipped: list[str] = []
    blocks: list[str] = []

    def add(kind: str, obj, fn, *args):
        var = _py(f"{kind.lower()}_", obj.name, taken)
        try:
            blocks.append(fn(obj, var, *args))
            return var
        except Unsupported as exc:
            taken.discard(var)
            skipped.append(f"{kind} {obj.name}: {exc}")
            return None

    entities = {
        e.name: add("entity", e, render_entity) for e in sorted(fs.list_entities(), key=lambda e: e.name)
    }
    sources = {
        s.name: add("source", s, render_source) for s in sorted(fs.list_data_sources(), key=lambda s: s.name)
    }
    views = {}
    listed = fs.list_feature_views() if feature_views is None else feature_views
    for v in sorted(listed, key=lambda v: v.name):
        if all(entities.get(e) for e in v.entities if e != DUMMY) and sources.get(
            getattr(v.batch_source, "name", None)
        ):
            views[v.name] = add("view", v, render_view, entities, sources)
        else:
            skipped.append(f"view {v.name}: its entity or source could not be written")
    for s in sorted(fs.list_feature_services(), key=lambda s: s.name):
        add("service", s, render_service, {k: x for k, x in views.items() if x})
    for kind, listed in (("on-demand view", fs.list_on_demand_feature_views()),
                         ("stream view", fs.list_stream_feature_views())):  # fmt: skip
        skipped += [f"{kind} {o.name}: defined in a notebook cell, not expressible here" for o in listed]
    note = ""
    if skipped:
        note = "\n# Not written as code (`feast apply` in this folder would delete them):\n" + "".join(
            f"#   {s}\n" for s in skipped
        )
    return HEADER + note + "\n\n" + "\n\n".join(b for b in blocks if b), skipped


def write(fs, repo: Path) -> list[str]:
    """Render the registry into ``repo/mlops_definitions.py`` (atomically) and record the online store's
    tables as ``feast apply`` does. Call it under the registry lock, after the write. Returns what could
    not be written as code."""
    fs.refresh_registry()
    views = fs.list_feature_views()
    text, skipped = render(fs, views)
    path = Path(repo) / FILE
    if not path.is_file() or path.read_text() != text:
        tmp = path.with_name(f".{FILE}.{os.getpid()}.tmp")  # not *.py: Feast never imports it half-written
        tmp.write_text(text)
        os.replace(tmp, path)
    record_infra(fs, repo, frozenset(v.name for v in views))
    return skipped


_recorded: dict[tuple[str, str], frozenset] = {}  # (repo, online store) -> views whose tables were recorded


def record_infra(fs, repo: Path, views: frozenset) -> None:
    """What ``feast apply`` records after creating the online store's tables (the SDK does not). The
    tables follow the set of views: planned again only when that set differs from the one this process
    last recorded (planning lists every view again, the slow part of a write)."""
    key = (str(repo), repr(fs.config.online_store))
    if _recorded.get(key) == views:
        return
    registry = fs.registry
    new = fs.provider.plan_infra(fs.config, registry.proto())
    if registry.get_infra(fs.project).to_proto() != new.to_proto():
        registry.update_infra(new, fs.project, commit=True)
    _recorded[key] = views
