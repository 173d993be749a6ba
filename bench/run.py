"""Run the benchmarks and print a table of ratios against the raw libraries, then every goal's measured
ratio beside its target (one table).

python bench/run.py              # all of them
python bench/run.py load_ext     # those whose name contains 'load_ext'
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main(argv: list[str]) -> int:
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    exact = [n for n in names if n in argv or n.removeprefix("bench_") in argv]
    wanted = exact or [n for n in names if not argv or any(a in n for a in argv)]
    if not wanted:
        print(f"no benchmark matches {argv}; have: {', '.join(names)}")
        return 2
    from _common import GOALS, table

    for name in wanted:
        t = time.perf_counter()
        print(importlib.import_module(name).run())
        print(f"\n({name}: {time.perf_counter() - t:.0f} s)\n")
    if GOALS:
        print(
            table(
                "goals: measured against target (all benchmarks above)",
                ["goal", "measured", "target", ""],
                GOALS,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
