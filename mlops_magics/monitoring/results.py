"""The drift result: a compact summary first (verdict, share, one row per column with a sparkline),
the full Evidently report below it in a live kernel, and static fallbacks for everywhere else (HTML
table, a PNG of the per-column scores, the path of the saved full report)."""

from __future__ import annotations

import html
import threading
from dataclasses import dataclass, field

from ..display import Card, Result, Table
from .charts import sparkline

_REPORTS = threading.Lock()  # one writer per result


@dataclass
class DriftResult(Result):
    name: str | None
    dataset_drift: bool
    drift_share: float
    drifted_columns: int
    columns: list = field(default_factory=list)
    reference_rows: int = 0
    current_rows: int = 0
    threshold_share: float = 0.5
    planned_report: str = ""  # where the full HTML report goes; see report_path
    seconds: float = 0.0
    when: str = ""
    notes: list[str] = field(default_factory=list)
    snapshot: object = field(default=None, repr=False)
    metadata: dict = field(default_factory=dict)
    project_id: str = ""  # where --save put it: the Evidently project and snapshot
    snapshot_id: str = ""
    _writer: object = field(default=None, init=False, repr=False, compare=False)

    @property
    def report_path(self) -> str:
        """The full Evidently HTML report, written by the time this returns (saved, named by --fail,
        read by a caller): computing a check and rendering 5 MB of HTML are separate costs, as they are
        with Evidently's own run() and save_html()."""
        self.write_report(wait=True)
        return self.planned_report

    def write_report(self, wait: bool = False) -> None:
        """Write the full report once. Without ``wait`` it is written by a thread: showing the card
        names the report and the cell does not wait the half second of rendering (the thread is joined
        before the interpreter exits, and whatever reads ``report_path`` waits for it)."""
        from pathlib import Path

        with _REPORTS:
            if self._writer is None and self.planned_report and self.snapshot is not None \
                    and not Path(self.planned_report).is_file():  # fmt: skip
                self._writer = threading.Thread(target=self._write, name="mlops-drift-report")
                self._writer.start()
            writer = self._writer
        if wait and writer is not None:
            writer.join()
            if not Path(self.planned_report).is_file():  # the thread failed: say why, here
                self.snapshot.save_html(self.planned_report)

    def _write(self) -> None:
        try:
            self.snapshot.save_html(self.planned_report)
        except Exception:  # raised again where the report is read (report_path)
            pass

    @property
    def scores(self) -> dict[str, float]:
        return {c.column: c.score for c in self.columns}

    @property
    def drifted(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    def table(self) -> Table:
        rows = [[c.column, c.kind if c.role == "feature" else f"{c.kind}, {c.role}", c.method, round(c.score, 6), c.threshold,
                 f"{c.missing_reference:.0%} -> {c.missing_current:.0%}", "DRIFT" if c.drifted else "ok"]
                for c in self.columns]  # fmt: skip
        sparks = [sparkline(c.reference_sample, c.current_sample) for c in self.columns]
        return Table(["column", "kind", "test", "score", "threshold", "missing", "verdict"], rows,
                     highlight=[i for i, c in enumerate(self.columns) if c.drifted],
                     html_column=("distribution (reference grey, current red)", sparks))  # fmt: skip

    @property
    def verdict(self) -> str:
        """The headline a person reads: how many columns drifted, then whether that is dataset drift."""
        n = len(self.columns)
        if self.dataset_drift:
            return f"DRIFT: {self.drifted_columns} of {n} columns drifted"
        if self.drifted_columns:
            return f"{self.drifted_columns} of {n} columns drifted (below the dataset rule)"
        return f"no drift: 0 of {n} columns drifted"

    @property
    def status(self) -> str:
        return "DRIFT" if self.dataset_drift else ("COLUMNS DRIFTED" if self.drifted_columns else "NO DRIFT")

    def card(self) -> Card:
        rule = (f"dataset drift when at least {self.threshold_share:.0%} of the columns drift (--drift-share); "
                f"here {self.drift_share:.0%}: {'yes' if self.dataset_drift else 'no'}")  # fmt: skip
        facts = [("drifted columns", ", ".join(self.drifted) or "none"), ("dataset rule", rule),
                 ("rows", f"reference {self.reference_rows:,}, current {self.current_rows:,}"),
                 ("full report", self.planned_report)]  # fmt: skip
        self.write_report()  # named here, written beside the cell (report_path waits for it)
        facts += [(k, v) for k, v in self.metadata.items()]
        title = f"Drift{f' {self.name}' if self.name else ''}: {self.verdict}"
        from .snapshots import snapshot_url

        url = snapshot_url(self.project_id, self.snapshot_id)
        return Card(title, facts, status=self.status, tables=[self.table()], notes=self.notes,
                    links=[("Evidently UI", url)] if url else [], kind="drift")  # fmt: skip

    def scores_svg(self, width: int = 220, bar: int = 10) -> str:
        """Per-column scores against their thresholds (red: drifted), as inline SVG: the chart static
        outputs keep, drawn without matplotlib."""
        if not self.columns:
            return ""
        top = max([c.score for c in self.columns] + [c.threshold for c in self.columns] + [1e-9])
        rows = []
        for i, c in enumerate(self.columns):
            y = i * (bar + 4)
            w = max(c.score, 0) / top * width
            t = c.threshold / top * width
            rows.append(f"<rect x='0' y='{y}' width='{w:.1f}' height='{bar}' fill='{'#cf222e' if c.drifted else '#8c959f'}'>"
                        f"<title>{html.escape(str(c.column))}: {c.score:.4g} (threshold {c.threshold:.4g})</title></rect>"
                        f"<line x1='{t:.1f}' x2='{t:.1f}' y1='{y - 1}' y2='{y + bar + 1}' stroke='black'/>")  # fmt: skip
        height = len(self.columns) * (bar + 4)
        return (f"<svg class='mlops-drift-scores' width='{width + 2}' height='{height}' "
                f"xmlns='http://www.w3.org/2000/svg'>{''.join(rows)}</svg>")  # fmt: skip

    def _repr_mimebundle_(self, include=None, exclude=None):
        from ..display import live_kernel

        card = self.card()
        summary = card.to_html() + f"<div style='font-size:11px;color:#57606a'>scores (bar) and thresholds (line), " \
            f"red: drifted</div>{self.scores_svg()}"  # fmt: skip
        if live_kernel() and self.snapshot is not None:
            # the full interactive report is one click away, in its own scrolling frame
            summary += ("<details class='mlops-drift-report'><summary style='cursor:pointer;color:#0969da;"
                        "font-size:12px'>full Evidently report</summary><div style='height:700px;overflow:auto'>"
                        f"{self.snapshot.get_html_str(as_iframe=True)}</div></details>")  # fmt: skip
        return {"text/plain": card.to_text(), "text/html": summary}
