"""Result objects of ``%feature``: the feature-view card, the plan, the list of views."""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import schema
from ..display import Card, Result, Table


@dataclass
class Plan(Result):
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    fields_added: dict[str, list[str]] = field(default_factory=dict)
    fields_removed: dict[str, list[str]] = field(default_factory=dict)
    fields_changed: dict[str, list[str]] = field(default_factory=dict)
    data_changed: dict[str, str] = field(default_factory=dict)
    applied: bool = False
    not_in_code: list[str] = field(default_factory=list)  # objects the Feast folder's code leaves out

    def lines(self) -> list[str]:
        out = [f"+ {x}" for x in self.added] + [f"~ {x}" for x in self.changed]
        for view, names in self.fields_added.items():
            out.append(f"  + {view}: {', '.join(names)}")
        for view, names in self.fields_removed.items():
            out.append(f"  - {view}: {', '.join(names)}")
        for view, names in self.fields_changed.items():
            out.append(f"  ~ {view}: {', '.join(names)}")
        for view, change in self.data_changed.items():
            out.append(f"  ~ {view}: data {change}")
        out += [f"= {x} (unchanged)" for x in self.unchanged]
        out += [
            f"! not in the Feast folder's code ({x}); `feast apply` there would delete it"
            for x in self.not_in_code
        ]
        return out or ["no changes"]

    def card(self) -> Card:
        status = "APPLIED" if self.applied else "PLAN"
        return Card("Feast plan", notes=self.lines(), status=status, kind="feature-plan")


@dataclass
class FeatureViewResult(Result):
    name: str
    entity: str
    timestamp: str
    schema: dict[str, str]
    rows: int | None
    entities: int | None
    time_min: str | None
    time_max: str | None
    fingerprint: str | None
    version: int | None
    ttl: str
    sample: object = None  # a few rows (DataFrame) when registered from a frame
    plan: Plan | None = None
    applied: bool = True
    renamed: dict = field(default_factory=dict)  # {original column: feature name} (--clean-names)

    @classmethod
    def from_view(cls, view, sample=None, plan=None, applied=True) -> FeatureViewResult:
        info = schema.view_info(view.tags)
        source = view.batch_source
        return cls(
            name=view.name,
            entity=", ".join(view.entities),
            timestamp=getattr(source, "timestamp_field", "") or "",
            schema={f.name: str(f.dtype) for f in view.features},
            rows=info["rows"],
            entities=info["entities"],
            time_min=info["time_min"],
            time_max=info["time_max"],
            fingerprint=info["fingerprint"],
            version=info["version"],
            ttl=str(view.ttl) if view.ttl else "no limit",
            sample=sample,
            plan=plan,
            applied=applied,
        )

    @classmethod
    def from_frame(
        cls, name, entity, timestamp, view, data, plan, applied, renamed=None
    ) -> FeatureViewResult:
        result = cls.from_view(view, sample=data.head(5), plan=plan, applied=applied)
        result.renamed = dict(renamed or {})
        return result

    def card(self) -> Card:
        facts = [("entity", self.entity), ("timestamp", self.timestamp), ("rows", self.rows),
                 ("entities", self.entities), ("time range", f"{self.time_min} .. {self.time_max}"),
                 ("version", self.version), ("fingerprint", self.fingerprint), ("ttl", self.ttl)]  # fmt: skip
        tables = [Table(["feature", "type"], [[k, v] for k, v in self.schema.items()],
                        title=f"schema ({len(self.schema)} features)")]  # fmt: skip
        if self.sample is not None:  # three rows, eight columns: a glimpse, not a table dump
            s = self.sample.head(3)
            cols = list(s.columns[:8])
            more = f" (8 of {len(s.columns)} columns)" if len(s.columns) > 8 else ""
            values = s[cols].astype(object).where(s[cols].notna(), None).values.tolist()
            tables.append(Table([str(c) for c in cols], values, title=f"sample rows{more}"))
        notes = self.plan.lines() if self.plan is not None else []
        if self.renamed:
            notes = [f"renamed {len(self.renamed)} column(s): "
                     + ", ".join(f"{k!r} -> {v}" for k, v in self.renamed.items()), *notes]  # fmt: skip
        status = "APPLIED" if self.applied else "PLAN"
        from .ui import view_url

        url = view_url(self.name) if self.applied else None
        return Card(f"Feature view {self.name}", facts, status=status, tables=tables, notes=notes,
                    links=[("Feast UI", url)] if url else [], kind="feature-view")  # fmt: skip


@dataclass
class ViewsTable(Result):
    views: list[FeatureViewResult]

    def card(self) -> Card:
        rows = [
            [v.name, v.entity, len(v.schema), v.rows, v.version, v.fingerprint, v.time_max]
            for v in self.views
        ]
        table = Table(["view", "entity", "features", "rows", "version", "fingerprint", "latest event"], rows)
        return Card(f"Feature views ({len(self.views)})", tables=[table], kind="feature-views")

    def __len__(self) -> int:
        return len(self.views)
