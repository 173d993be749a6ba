"""`%deploy predict` of one row against one keep-alive ``httpx.Client`` posting the same V2 body (issue #22).

A real IPython shell trains a small scikit-learn pipeline under ``%%track``, registers it and deploys
it with ``%deploy`` (MLServer, the serving env cached). Then, alternating call by call so load changes
hit both sides alike: ``%deploy predict NAME row`` through the magic (frame checked against the
signature, V2 encode, POST, decode to a DataFrame) and the raw client posting the already encoded body
and parsing the JSON. Two endpoints: the %deploy default (adaptive batching: one caller at a time never
fills a batch, so every request waits out the batch window on both sides) and one with batching off,
where the client's own cost shows. Goal: p50 <= 1.15x the raw client on both.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

from _common import goal, median, percentile, table

CELL = """
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression
model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
"""


def run(calls: int | None = None) -> str:
    calls = calls or int(os.environ.get("BENCH_CALLS", "300"))
    work = tempfile.mkdtemp(prefix="bench-predict-")
    os.chdir(work)
    os.environ["MLOPS_HOME"] = os.path.join(work, ".mlops")
    import httpx
    import pandas as pd
    from IPython.core.interactiveshell import InteractiveShell
    from sklearn.datasets import make_classification

    from mlops_magics.serving import local, v2

    sh = InteractiveShell.instance()
    sh.run_line_magic("load_ext", "mlops_magics")
    sh.run_line_magic("config", "MLOps.widgets = False")
    X, y = make_classification(500, 6, random_state=0)
    sh.user_ns.update(X=pd.DataFrame(X, columns=[f"f{i}" for i in range(6)]), y=y)
    sh.run_cell_magic("track", "m --model model", CELL)
    sh.run_line_magic("track", "register last --name bench-predict --alias champion")
    deps = {}
    for name, flags in (("bench-batched", ""), ("bench-unbatched", "--no-batching")):
        t = time.perf_counter()
        deps[name] = (sh.run_line_magic("deploy", f"models:/bench-predict@champion --name {name} {flags}"),
                      time.perf_counter() - t)  # fmt: skip
    row = sh.user_ns["X"].head(1)
    sh.user_ns["row"] = row
    body = v2.encode(row)
    try:
        with httpx.Client() as raw:

            def magic(name):
                return lambda: sh.run_line_magic("deploy", f"predict {name} row")

            def by_hand(name):
                def go():
                    r = raw.post(deps[name][0].infer_url, json=body)
                    r.raise_for_status()
                    r.json()

                return go

            sides = {
                "batching on (default): %deploy predict": magic("bench-batched"),
                "batching on (default): httpx.Client, same body": by_hand("bench-batched"),
                "batching off: %deploy predict": magic("bench-unbatched"),
                "batching off: httpx.Client, same body": by_hand("bench-unbatched"),
            }
            for fn in sides.values():  # connections open, imports done
                for _ in range(10):
                    fn()
            times: dict[str, list[float]] = {k: [] for k in sides}
            for _ in range(calls):
                for name, fn in sides.items():
                    t = time.perf_counter()
                    fn()
                    times[name].append((time.perf_counter() - t) * 1000)
    finally:
        local.stop_all()
    rows, verdicts = [], []
    for mode in ("batching on (default)", "batching off"):
        base = median(times[f"{mode}: httpx.Client, same body"])
        for name in (f"{mode}: %deploy predict", f"{mode}: httpx.Client, same body"):
            ts = times[name]
            rows.append([name, len(ts), median(ts), percentile(ts, 0.99), median(ts) / base])
        ratio = median(times[f"{mode}: %deploy predict"]) / base
        if mode.startswith("batching on"):  # the goal: the %deploy default; batching off is shown beside it
            verdicts.append(
                goal("%deploy predict 1 row vs keep-alive httpx.Client", ratio, "<= 1.15x", ratio <= 1.15)
            )
        else:
            verdicts.append(f"{mode}: {ratio:.2f}x (no goal)")
    ready = ", ".join(f"{d[1]:.1f} s" for d in deps.values())
    return (
        table(
            f"%deploy predict, 1 row, {calls} calls per side, interleaved (deploy to ready: {ready})",
            ["side", "n", "p50 ms", "p99 ms", "p50 ratio"],
            rows,
        )
        + "\n\n"
        + "\n".join(verdicts)
    )


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    print(run())
