"""Shared helpers for benchmarks: timing fresh processes and printing a table of ratios."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time


def time_process(code: str, repeat: int, env=None) -> list[float]:
    """Wall seconds of ``python -c code`` in fresh interpreters, ``repeat`` times."""
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True)
        out.append(time.perf_counter() - t)
    return out


def median(xs) -> float:
    return statistics.median(xs)


def percentile(xs, q: float) -> float:
    xs = sorted(xs)
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def table(title: str, columns: list[str], rows: list[list]) -> str:
    def fmt(v):
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    cells = [columns] + [[fmt(v) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = [f"## {title}", ""]
    for n, r in enumerate(cells):
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


GOALS: list[list[str]] = []  # every goal checked in this process, for run.py's summary


def goal(name: str, measured: float, target: str, ok: bool, unit: str = "x") -> str:
    """Record a goal's measured ratio (or figure) beside its target; the verdict line for the bench's own
    output. ``make bench`` prints all of them at the end, one table."""
    verdict = "PASS" if ok else "FAIL"
    shown = f"{measured:.2f}{unit}" if isinstance(measured, float) else str(measured)
    GOALS.append([name, shown, target, verdict])
    return f"goal: {name}: {shown} (target {target}) -> {verdict}"
