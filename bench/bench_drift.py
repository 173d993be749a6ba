"""%drift against raw Evidently (issues #6 and #22).

1. 100k rows x 20 numeric columns, half of them shifted: ``monitoring.check`` (checks, column kinds,
   result) and ``%drift ref cur`` through a real IPython shell, its result displayed as a notebook shows
   it (``_repr_mimebundle_``: the card, the score chart, the full report's path), against
   ``Report([DataDriftPreset()]).run(...)``, Evidently imported before the clock starts on every side.
   The three sides alternate process by process. Goals: API <= 1.1x; the magic with its display
   <= 1.05x and peak memory <= 1.1x.
2. 1M rows x 50 columns with the default sampling (100k rows per frame): wall time <= 60 s and peak
   memory <= 4 GB, frame building excluded from the time, included in the memory.
Each case runs in a fresh process so its peak RSS is its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap

CASE = textwrap.dedent(
    """
    import json, os, resource, sys, tempfile, time
    import numpy as np, pandas as pd
    mode, rows, cols = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    os.environ["MLOPS_HOME"] = tempfile.mkdtemp()
    rng = np.random.default_rng(0)
    ref = pd.DataFrame(rng.normal(0, 1, (rows, cols)), columns=[f"c{i}" for i in range(cols)])
    cur = pd.DataFrame(rng.normal(0, 1, (rows, cols)), columns=ref.columns)
    cur.iloc[:, : cols // 2] += 0.5
    if mode == "raw":
        from evidently import Report
        from evidently.presets import DataDriftPreset
        t = time.perf_counter()
        Report([DataDriftPreset()]).run(reference_data=ref, current_data=cur)
    elif mode == "magic":
        import evidently.presets  # imported before the clock starts, as on the raw side
        from IPython.core.interactiveshell import InteractiveShell
        sh = InteractiveShell.instance()
        sh.run_line_magic("load_ext", "mlops_magics")
        sh.user_ns.update(ref=ref, cur=cur)
        t = time.perf_counter()
        r = sh.run_line_magic("drift", "ref cur")
        r._repr_mimebundle_()  # what the notebook shows under the cell
        assert r.dataset_drift
    else:
        import evidently.presets  # imported before the clock starts, as on the raw side
        from mlops_magics.monitoring import check
        t = time.perf_counter()
        r = check(ref, cur)
        assert r.dataset_drift or cols < 2
    secs = time.perf_counter() - t
    print(json.dumps({"seconds": secs, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    """
)


def _case(mode: str, rows: int, cols: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CASE, mode, str(rows), str(cols)], capture_output=True, text=True,
                         cwd=tempfile.mkdtemp())  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(repeat: int | None = None) -> str:
    from _common import goal, median, table

    repeat = repeat or int(os.environ.get("BENCH_REPEAT", "5"))  # Evidently's own time varies +-0.3 s a run

    ours, magic, raw = [], [], []
    for _ in range(repeat):  # interleaved: a change in the machine's load hits every side alike
        ours.append(_case("mlops", 100_000, 20))
        magic.append(_case("magic", 100_000, 20))
        raw.append(_case("raw", 100_000, 20))
    o, m, r = (median([x["seconds"] for x in xs]) for xs in (ours, magic, raw))
    om, mm, rm = (median([x["peak_mb"] for x in xs]) for xs in (ours, magic, raw))
    big = _case("mlops", 1_000_000, 50)
    rows = [
        ["100k x 20, %drift API", f"{o:.2f} s", f"{om:.0f} MB ({om / rm:.2f}x)", f"{o / r:.3f}",
         "PASS" if o / r <= 1.1 else "FAIL"],
        ["100k x 20, %drift magic + display", f"{m:.2f} s", f"{mm:.0f} MB ({mm / rm:.2f}x)", f"{m / r:.3f}",
         "PASS" if m / r <= 1.05 and mm / rm <= 1.1 else "FAIL"],
        ["100k x 20, raw Evidently", f"{r:.2f} s", f"{rm:.0f} MB", "1.000", ""],
        ["1M x 50, %drift API (sampled to 100k)", f"{big['seconds']:.1f} s", f"{big['peak_mb']:.0f} MB", "",
         "PASS" if big["seconds"] <= 60 and big["peak_mb"] <= 4096 else "FAIL"],
    ]  # fmt: skip
    goal("%drift API 100k x 20 vs raw Evidently", o / r, "<= 1.1x", o / r <= 1.1)
    goal("%drift magic + display 100k x 20 vs raw Evidently", m / r, "<= 1.05x", m / r <= 1.05)
    goal("%drift magic + display: peak memory vs raw", mm / rm, "<= 1.1x", mm / rm <= 1.1)
    return table(f"drift: %drift API vs raw Evidently 0.7 (median of {repeat} processes)",
                 ["case", "time", "peak RSS (median)", "ratio", "goal (API <=1.1x; magic <=1.05x, RSS <=1.1x; 1M: <=60 s, <=4 GB)"], rows)  # fmt: skip


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    print(run())
