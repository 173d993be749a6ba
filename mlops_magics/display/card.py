"""Cards: the static rendering every result object has, and the widget it becomes in a live kernel.

A :class:`Card` is a title, a list of key facts and optional tables. ``_repr_mimebundle_`` always
returns ``text/plain`` and ``text/html`` (for nbconvert, papermill output, GitHub, VS Code); in a live
ipykernel it adds the ipywidgets view, which JupyterLab ranks first.
"""

from __future__ import annotations

import html
import sys
from dataclasses import dataclass, field
from typing import Any

_STATUS_COLOURS = {
    "FINISHED": "#1a7f37",
    "READY": "#1a7f37",
    "OK": "#1a7f37",
    "NO DRIFT": "#1a7f37",
    "RUNNING": "#0969da",
    "STARTING": "#0969da",
    "FAILED": "#cf222e",
    "KILLED": "#9a6700",
    "DRIFT": "#cf222e",
    "STOPPED": "#57606a",
    "DEAD": "#cf222e",
    "COLUMNS DRIFTED": "#9a6700",
}


def live_kernel() -> bool:
    """True inside an ipykernel whose front end can show widgets, and when ``MLOps.widgets`` is on."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or getattr(shell, "kernel", None) is None:
        return False
    from ..config import get_config

    return bool(get_config().widgets)


def _cell(value: Any, limit: int = 80) -> str:
    """A table cell: long text cut, with the whole of it on hover."""
    text = _fmt(value)
    if len(text) <= limit:
        return html.escape(text)
    return f"<span title='{html.escape(text, quote=True)}'>{html.escape(text[: limit - 1])}&hellip;</span>"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if value is None:
        return "—"
    return str(value)


@dataclass
class Table:
    columns: list[str]
    rows: list[list[Any]]
    title: str = ""
    highlight: list[int] = field(default_factory=list)  # indexes of rows to mark (e.g. differences)
    # (header, trusted HTML per row), e.g. sparklines; shown in HTML only
    html_column: tuple[str, list[str]] | None = None

    def to_text(self) -> str:
        cells = [self.columns] + [[_fmt(v) for v in r] for r in self.rows]
        widths = [max(len(str(row[i])) for row in cells) for i in range(len(self.columns))]
        lines = [self.title] if self.title else []
        for n, row in enumerate(cells):
            mark = "* " if n - 1 in self.highlight else "  "
            lines.append(mark + "  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
            if n == 0:
                lines.append("  " + "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def to_html(self, max_rows: int = 10) -> str:
        """The table; rows past ``max_rows`` behind "show all" (a card stays short), wide ones scroll
        inside their own box instead of being clipped."""
        extra_head, extra = self.html_column or ("", [])
        headers = [*self.columns, extra_head] if self.html_column else self.columns
        head = "".join(f"<th style='text-align:left;padding:2px 8px'>{html.escape(c)}</th>" for c in headers)
        body = []
        for n, row in enumerate(self.rows):
            style = " style='background:#fff8c5'" if n in self.highlight else ""
            tds = "".join(f"<td style='padding:2px 8px'>{_cell(v)}</td>" for v in row)
            if self.html_column:
                tds += f"<td style='padding:2px 8px'>{extra[n]}</td>"
            body.append(f"<tr{style}>{tds}</tr>")
        title = (
            f"<div style='font-weight:600;margin-top:6px'>{html.escape(self.title)}</div>"
            if self.title
            else ""
        )
        table = "<table class='mlops-table' style='border-collapse:collapse;font-size:12px'><thead><tr>{}</tr></thead><tbody>{}</tbody></table>"
        shown = table.format(head, "".join(body[:max_rows]))
        if len(body) > max_rows:
            shown += (f"<details class='mlops-more'><summary style='cursor:pointer;color:#0969da;font-size:12px'>"
                      f"show all {len(body)} rows</summary>{table.format(head, ''.join(body[max_rows:]))}</details>")  # fmt: skip
        return f"{title}<div class='mlops-scroll' style='max-width:100%;overflow-x:auto'>{shown}</div>"


@dataclass
class Card:
    title: str
    facts: list[tuple[str, Any]] = field(default_factory=list)
    status: str = ""
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)  # (label, url)
    kind: str = "card"  # css class suffix, e.g. "run", "workspace": lets tests and pages find it

    # -- static renderings ---------------------------------------------------------------------------
    def to_text(self) -> str:
        head = f"{self.title}" + (f"  [{self.status}]" if self.status else "")
        lines = [head, "=" * len(head)]
        width = max((len(k) for k, _ in self.facts), default=0)
        lines += [f"{k.ljust(width)}  {_fmt(v)}" for k, v in self.facts]
        for t in self.tables:
            lines += ["", t.to_text()]
        lines += [f"{label}: {url}" for label, url in self.links]
        lines += self.notes
        return "\n".join(lines)

    def to_html(self) -> str:
        colour = _STATUS_COLOURS.get(self.status.upper(), "#57606a")
        badge = (
            f" <span style='background:{colour};color:white;border-radius:8px;padding:1px 8px;"
            f"font-size:11px'>{html.escape(self.status)}</span>"
            if self.status
            else ""
        )
        facts = "".join(
            f"<tr><td style='color:#57606a;padding:1px 12px 1px 0;vertical-align:top'>{html.escape(k)}</td>"
            f"<td style='padding:1px 0;overflow-wrap:anywhere'>{_cell(v, 160)}</td></tr>"
            for k, v in self.facts
        )
        links = " · ".join(
            f"<a href='{html.escape(url, quote=True)}' target='_blank'>{html.escape(label)}</a>"
            for label, url in self.links
        )
        notes = "".join(
            f"<div style='color:#57606a;font-size:12px'>{html.escape(n)}</div>" for n in self.notes
        )
        return (
            f"<div class='mlops-card mlops-{html.escape(self.kind)}' style='border:1px solid #d0d7de;"
            f"border-radius:6px;padding:8px 12px;margin:4px 0;font-family:sans-serif;font-size:13px;"
            f"max-width:100%;box-sizing:border-box;overflow-wrap:anywhere'>"
            f"<div style='font-weight:600;font-size:14px;margin-bottom:4px'>{html.escape(self.title)}{badge}</div>"
            f"<table style='border-collapse:collapse'>{facts}</table>"
            f"{''.join(t.to_html() for t in self.tables)}"
            f"{f'<div style=margin-top:4px>{links}</div>' if links else ''}{notes}</div>"
        )

    # -- live view -----------------------------------------------------------------------------------
    def widget(self):
        from .widgets import CardView

        return CardView(self)

    def _repr_mimebundle_(self, include=None, exclude=None):
        data = {"text/plain": self.to_text(), "text/html": self.to_html()}
        if live_kernel():
            view = self.widget()
            data.update({k: v for k, v in view._repr_mimebundle_().items() if k != "text/plain"})
        return data

    def __repr__(self) -> str:
        return self.to_text()


class Result:
    """Base of result objects: subclasses build a :class:`Card`; rendering follows from it."""

    def card(self) -> Card:  # pragma: no cover - abstract
        raise NotImplementedError

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self.card()._repr_mimebundle_(include, exclude)

    def __str__(self) -> str:
        return self.card().to_text()


@dataclass
class Outcome(Result):
    """What a command with a side effect did: ``Outcome("stopped", ["credit-risk"], "deployments")``.

    Side-effect commands (stop, materialize, delete, ui --stop) return one, so every magic returns a
    result object; it renders as one line."""

    action: str
    names: list[str] = field(default_factory=list)
    what: str = ""
    facts: list[tuple[str, Any]] = field(default_factory=list)

    def card(self) -> Card:
        done = ", ".join(self.names) or "nothing"
        title = f"{self.what}: {self.action} {done}" if self.what else f"{self.action}: {done}"
        return Card(title, self.facts, kind="outcome")

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self):
        return iter(self.names)


@dataclass
class Stored(Result):
    """``-o NAME`` of data (a DataFrame): one line saying what was stored, instead of the data."""

    name: str
    value: Any = field(repr=False)
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        v = self.value
        shape = getattr(v, "shape", None)
        if shape is not None and len(shape) == 2 and hasattr(v, "columns"):
            cols = [str(c) for c in v.columns]
            shown = ", ".join(cols[:8]) + (f", ... ({len(cols)} columns)" if len(cols) > 8 else "")
            return f"{type(v).__name__}, {shape[0]:,} rows x {shape[1]} columns: {shown}"
        if hasattr(v, "__len__"):
            return f"{type(v).__name__} of {len(v):,} items"
        return type(v).__name__

    def card(self) -> Card:
        return Card(f"stored {self.name}: {self.describe()}", notes=self.notes, kind="stored")

    def _repr_mimebundle_(self, include=None, exclude=None):
        text = "; ".join([self.card().title, *self.notes])
        return {"text/plain": text, "text/html": f"<div class='mlops-stored' style='color:#57606a;font-size:12px'>"
                                                  f"{html.escape(text)}</div>"}  # fmt: skip
