"""The drift result: a compact summary first (verdict, share, one row per column with a sparkline),
the full Evidently report below it in a live kernel, and static fallbacks for everywhere else (HTML
table, a PNG of the per-column scores, the path of the saved full report)."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field

from ..display import Card, Result, Table


def sparkline(reference: list, current: list, width: int = 120, height: int = 22) -> str:
    """Two overlaid histograms (reference grey, current red) as a tiny inline SVG."""
    import numpy as np

    if not reference or not current:
        return ""
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in reference[:50] + current[:50]):
        lo, hi = min(min(reference), min(current)), max(max(reference), max(current))
        edges = np.linspace(lo, hi if hi > lo else lo + 1, 16)
        r, _ = np.histogram(reference, edges)
        c, _ = np.histogram(current, edges)
    else:
        cats = sorted({str(v) for v in reference} | {str(v) for v in current})[:16]
        r = np.array([sum(str(v) == k for v in reference) for k in cats])
        c = np.array([sum(str(v) == k for v in current) for k in cats])
    r, c = r / max(r.sum(), 1), c / max(c.sum(), 1)
    top = max(r.max(), c.max()) or 1
    bw = width / len(r)

    def bars(values, colour, offset):
        return "".join(
            f"<rect x='{i * bw + offset:.1f}' y='{height - v / top * height:.1f}' width='{bw / 2:.1f}' "
            f"height='{v / top * height:.1f}' fill='{colour}'/>"
            for i, v in enumerate(values)
        )

    return (f"<svg width='{width}' height='{height}' xmlns='http://www.w3.org/2000/svg'>"
            f"{bars(r, '#8c959f', 0)}{bars(c, '#cf222e', bw / 2)}</svg>")  # fmt: skip


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

    @property
    def report_path(self) -> str:
        """The full Evidently HTML report, written the first time it is needed (shown, saved, or
        named by --fail): computing a check and rendering 5 MB of HTML are separate costs, as they
        are with Evidently's own run() and save_html()."""
        from pathlib import Path

        if self.planned_report and self.snapshot is not None and not Path(self.planned_report).is_file():
            self.snapshot.save_html(self.planned_report)
        return self.planned_report

    @property
    def scores(self) -> dict[str, float]:
        return {c.column: c.score for c in self.columns}

    @property
    def drifted(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    def table(self) -> Table:
        rows = [[c.column, c.kind if c.role == "feature" else f"{c.kind}, {c.role}", c.method, round(c.score, 6), c.threshold, "DRIFT" if c.drifted else "ok"]
                for c in self.columns]  # fmt: skip
        sparks = [sparkline(c.reference_sample, c.current_sample) for c in self.columns]
        return Table(["column", "kind", "test", "score", "threshold", "verdict"], rows,
                     highlight=[i for i, c in enumerate(self.columns) if c.drifted],
                     html_column=("distribution (reference grey, current red)", sparks))  # fmt: skip

    def card(self) -> Card:
        facts = [("dataset drift", "yes" if self.dataset_drift else "no"),
                 ("drifted columns", f"{self.drifted_columns} of {len(self.columns)} ({self.drift_share:.0%}; "
                                     f"dataset drift at {self.threshold_share:.0%})"),
                 ("rows", f"reference {self.reference_rows:,}, current {self.current_rows:,}"),
                 ("full report", self.report_path)]  # fmt: skip
        facts += [(k, v) for k, v in self.metadata.items()]
        return Card(f"Drift{f' {self.name}' if self.name else ''}", facts,
                    status="DRIFT" if self.dataset_drift else "NO DRIFT", tables=[self.table()], notes=self.notes,
                    kind="drift")  # fmt: skip

    def png(self) -> bytes:
        """Per-column drift scores against their thresholds: the key chart, for static outputs."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 0.3 * len(self.columns) + 1))
        names = [c.column for c in self.columns]
        ax.barh(
            names,
            [c.score for c in self.columns],
            color=["#cf222e" if c.drifted else "#8c959f" for c in self.columns],
        )
        for i, c in enumerate(self.columns):
            ax.plot([c.threshold, c.threshold], [i - 0.4, i + 0.4], color="black", linewidth=1)
        ax.set_xlabel("drift score (bar) and threshold (line); red: drifted")
        ax.invert_yaxis()
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=80)
        plt.close(fig)
        return buf.getvalue()

    def _repr_mimebundle_(self, include=None, exclude=None):
        from ..display import live_kernel

        summary = self.card().to_html()
        bundle = {"text/plain": self.card().to_text(), "image/png": base64.b64encode(self.png()).decode()}
        if live_kernel() and self.snapshot is not None:
            # the full interactive report under the summary, where a front end runs it
            summary += self.snapshot.get_html_str(as_iframe=True)
        bundle["text/html"] = summary
        return bundle
