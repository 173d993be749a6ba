"""Tiny inline SVG charts for drift cards: no plotting library, nothing to load, crisp at any zoom."""

from __future__ import annotations


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


def trend_svg(shares: list[float], width: int, height: int = 40) -> str:
    """Drift shares over time (0 to 1, oldest first) as a tiny inline SVG line; "" for fewer than two."""
    if len(shares) < 2:
        return ""
    step = width / (len(shares) - 1)
    points = " ".join(f"{i * step:.1f},{height - s * height:.1f}" for i, s in enumerate(shares))
    return (f"<svg class='mlops-drift-trend' width='{width}' height='{height}' xmlns='http://www.w3.org/2000/svg'>"
            f"<polyline points='{points}' fill='none' stroke='#cf222e' stroke-width='1.5'/></svg>")  # fmt: skip
