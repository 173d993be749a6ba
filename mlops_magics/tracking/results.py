"""Result objects of ``%track``: a run card, a runs table, a comparison, the registered models."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .. import schema
from ..display import Card, Result, Table


@dataclass
class RunResult(Result):
    run_id: str
    name: str
    experiment: str
    experiment_id: str
    status: str
    params: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    tags: dict = field(default_factory=dict)
    model_uri: str | None = None
    start_time: float | None = None  # epoch seconds
    end_time: float | None = None
    artifact_uri: str = ""
    lifecycle_stage: str = "active"  # "deleted" for a run in MLflow's trash

    @classmethod
    def from_run(cls, run, experiment: str) -> RunResult:
        info, data = run.info, run.data
        model_uri = data.tags.get(schema.MODEL_URI)
        if model_uri is None and getattr(run, "outputs", None) and run.outputs.model_outputs:
            model_uri = f"models:/{run.outputs.model_outputs[0].model_id}"
        return cls(
            run_id=info.run_id,
            name=info.run_name or "",
            experiment=experiment,
            experiment_id=info.experiment_id,
            status=info.status,
            params=dict(data.params),
            metrics=dict(data.metrics),
            tags=dict(data.tags),
            model_uri=model_uri,
            start_time=info.start_time / 1000 if info.start_time else None,
            end_time=info.end_time / 1000 if info.end_time else None,
            artifact_uri=info.artifact_uri,
            lifecycle_stage=info.lifecycle_stage,
        )

    @property
    def duration_s(self) -> float | None:
        if self.start_time is None:
            return None
        return (self.end_time or time.time()) - self.start_time

    @property
    def ui_url(self) -> str | None:
        from .ui import ui_url

        base = ui_url()
        return f"{base}/#/experiments/{self.experiment_id}/runs/{self.run_id}" if base else None

    def card(self) -> Card:
        facts = [("run", f"{self.name} ({self.run_id})"), ("experiment", self.experiment)]
        if self.duration_s is not None:
            facts.append(("duration", f"{self.duration_s:.2f} s"))
        facts += [(f"param {k}", v) for k, v in sorted(self.params.items())]
        facts += [(f"metric {k}", v) for k, v in sorted(self.metrics.items())]
        if self.model_uri:
            facts.append(("model", self.model_uri))
        if schema.NOTEBOOK in self.tags:
            facts.append(("notebook", self.tags[schema.NOTEBOOK]))
        if schema.GIT_COMMIT in self.tags:
            dirty = " (uncommitted changes)" if self.tags.get(schema.GIT_DIRTY) == "true" else ""
            facts.append(("git commit", self.tags[schema.GIT_COMMIT][:12] + dirty))
        if schema.ERROR in self.tags:
            facts.append(("error", f"{self.tags.get(schema.ERROR_TYPE, '')}: {self.tags[schema.ERROR]}"))
        links = [("MLflow UI", self.ui_url)] if self.ui_url else []
        notes = [] if links else ["%track ui starts the MLflow UI on 127.0.0.1"]
        return Card(
            f"MLflow run {self.name}", facts, status=self.status, links=links, notes=notes, kind="run"
        )


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else ""


class LoggedRun(Result):
    """What ``%track log`` returns: the open run, read from the store only when it is shown or asked
    for (``.metrics``, ...), so a loop that logs thousands of points reads nothing back."""

    def __init__(self, run_id: str, read):
        self.run_id = run_id
        self._read, self._run = read, None

    def run(self) -> RunResult:
        if self._run is None:
            self._run = self._read(self.run_id)
        return self._run

    def card(self) -> Card:
        return self.run().card()

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.run(), name)


@dataclass
class RunsTable(Result):
    runs: list[RunResult]

    def table(self, sort_by: str | None = None, descending: bool = True) -> Table:
        metric_names = sorted({m for r in self.runs for m in r.metrics})[:8]
        columns = ["name", "run id", "experiment", "status", "started", "duration s", *metric_names]
        rows = [
            [r.name, r.run_id[:8], r.experiment, r.status, _when(r.start_time),
             round(r.duration_s, 2) if r.duration_s is not None else None,
             *[r.metrics.get(m) for m in metric_names]]
            for r in self.runs
        ]  # fmt: skip
        if sort_by in columns:
            i = columns.index(sort_by)
            present = [row for row in rows if row[i] is not None]
            rows = sorted(present, key=lambda row: row[i], reverse=descending) + [
                r for r in rows if r[i] is None
            ]
        return Table(columns, rows)

    def card(self, sort_by: str | None = None) -> Card:
        return Card(f"MLflow runs ({len(self.runs)})", tables=[self.table(sort_by)], kind="runs")

    def _repr_mimebundle_(self, include=None, exclude=None):
        from ..display import live_kernel

        bundle = self.card()._repr_mimebundle_(include, exclude)
        if live_kernel():
            from .widgets import RunsView

            bundle.update({k: v for k, v in RunsView(self)._repr_mimebundle_().items() if k != "text/plain"})
        return bundle

    def __len__(self) -> int:
        return len(self.runs)


@dataclass
class Comparison(Result):
    a: RunResult
    b: RunResult

    def rows(self) -> tuple[list[list], list[int]]:
        rows, differ = [], []
        for kind, da, db in (
            ("param", self.a.params, self.b.params),
            ("metric", self.a.metrics, self.b.metrics),
        ):
            for key in sorted(set(da) | set(db)):
                va, vb = da.get(key), db.get(key)
                if va != vb:
                    differ.append(len(rows))
                delta = vb - va if kind == "metric" and va is not None and vb is not None else None
                rows.append([f"{kind} {key}", va, vb, delta])
        return rows, differ

    @property
    def differences(self) -> list[str]:
        rows, differ = self.rows()
        return [rows[i][0] for i in differ]

    def card(self) -> Card:
        rows, differ = self.rows()
        table = Table(["", f"A: {self.a.name}", f"B: {self.b.name}", "B - A"], rows, highlight=differ)
        facts = [("A", f"{self.a.name} ({self.a.run_id})"), ("B", f"{self.b.name} ({self.b.run_id})"),
                 ("differences", len(differ))]  # fmt: skip
        return Card("Run comparison", facts, tables=[table], kind="compare")


@dataclass
class ModelsTable(Result):
    rows: list[list]

    def card(self) -> Card:
        return Card(
            f"Registered models ({len(self.rows)})",
            tables=[Table(["name", "latest version", "aliases", "versions"], self.rows)],
            kind="models",
        )


@dataclass
class RegisteredVersion(Result):
    name: str
    version: int
    alias: str | None
    source: str
    run_id: str
    aliases: list[str] = field(default_factory=list)

    @property
    def uri(self) -> str:
        """``models:/NAME@ALIAS`` when an alias was set, else ``models:/NAME/VERSION``."""
        return f"models:/{self.name}@{self.alias}" if self.alias else f"models:/{self.name}/{self.version}"

    def card(self) -> Card:
        facts = [("model", self.name), ("version", self.version), ("aliases", ", ".join(self.aliases) or None),
                 ("uri", self.uri), ("source", self.source), ("run", self.run_id)]  # fmt: skip
        return Card(f"Registered {self.name} v{self.version}", facts, status="READY", kind="model-version")
