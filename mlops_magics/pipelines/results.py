"""What a pipeline run and a reproduction return: cards with one row per step or per metric."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..display import Card, Result, Table
from .step import StepOutcome, describe


@dataclass
class PipelineResult(Result):
    name: str
    run_id: str | None
    folder: str
    steps: list[StepOutcome] = field(default_factory=list)
    seconds: float = 0.0
    engine: str = "local"
    compiled: str | None = None  # kfp: the IR YAML written
    host: str | None = None  # kfp: where it was submitted (run_id is then the KFP run's id)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)

    @property
    def status(self) -> str:
        if self.engine == "kfp":
            return "SUBMITTED" if self.host else "COMPILED"
        return "FINISHED" if self.ok else "FAILED"

    @property
    def failures(self) -> list[str]:
        return [describe(s) for s in self.steps if s.status == "FAILED"]

    def step(self, name: str) -> StepOutcome:
        return next(s for s in self.steps if s.name == name)

    def card(self) -> Card:
        rows = [[s.name, s.status, round(s.seconds, 1), s.run_id, str(s.output or "")] for s in self.steps]
        return Card(
            title=f"pipeline {self.name}",
            status=self.status,
            facts=[
                ("run", self.run_id),
                ("engine", self.engine),
                ("wall time", f"{self.seconds:.1f} s"),
                ("folder", self.folder),
                *[(k, v) for k, v in (("compiled", self.compiled), ("submitted to", self.host)) if v],
            ],
            tables=[
                Table(
                    ["step", "status", "seconds", "run", "output notebook"],
                    rows,
                    highlight=[i for i, s in enumerate(self.steps) if not s.ok],
                )
            ],
            notes=self.failures,
            kind="pipeline",
        )


@dataclass
class Reproduction(Result):
    original: str
    new: PipelineResult
    changes: list[str]
    rows: list[list]  # step, metric, original, new, match
    rtol: float

    @property
    def matches(self) -> bool:
        return self.new.ok and bool(self.rows) and all(r[4] for r in self.rows)

    def card(self) -> Card:
        verdict = "REPRODUCED" if self.matches else "DIFFERENT"
        notes = [f"changed since the run: {c}" for c in self.changes] or [
            "code, data and packages as at the run"
        ]
        if not self.rows:
            notes.append("the run logged no metrics to compare")
        return Card(
            title=f"reproduce {self.original}",
            status=verdict,
            facts=[
                ("new run", self.new.run_id),
                ("tolerance", f"relative {self.rtol:g}"),
                ("steps", f"{sum(s.ok for s in self.new.steps)}/{len(self.new.steps)} finished"),
            ],
            tables=[
                Table(
                    ["step", "metric", "original", "new", "match"],
                    [[*r[:4], "yes" if r[4] else "NO"] for r in self.rows],
                    highlight=[i for i, r in enumerate(self.rows) if not r[4]],
                )
            ],
            notes=notes + self.new.failures,
            kind="reproduce",
        )
