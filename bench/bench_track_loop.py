"""A training loop logging 10,000 metric points into the embedded store (issue #22).

Each side runs in a fresh process on a fresh workspace and times the loop plus the end of the run, so
every point is in the SQLite store when the clock stops (then counted from the store):
- ``tracking.log(run_id, metrics={"loss": v})`` per point (the API);
- ``%track log metric loss=v`` per point through a real IPython shell (the magic);
- raw MLflow ``mlflow.log_metric(..., step=i)`` and the same with ``synchronous=False`` (MLflow's async
  logging), on the same kind of store, for reference (the synchronous side logs 1,000 points: at its
  rate 10,000 would take minutes).
Then a process logs 10,000 points through the API and kills itself (SIGKILL) without ending its run;
the next process to open the store must find all of them. Goal: >= 5,000 points/s, nothing lost.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap

from _common import goal, median, table

CASE = textwrap.dedent(
    """
    import json, os, signal, sys, time
    mode, n = sys.argv[1], int(sys.argv[2])
    if mode in ("api", "kill"):
        from mlops_magics import tracking
        run_id = tracking.start_run("loop", "loop")
        t = time.perf_counter()
        for i in range(n):
            tracking.log(run_id, metrics={"loss": 1 / (i + 1)})
        if mode == "kill":
            print(json.dumps({"run_id": run_id}), flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        tracking.end_run(run_id)
    elif mode == "magic":
        from IPython.core.interactiveshell import InteractiveShell
        sh = InteractiveShell.instance()
        sh.run_line_magic("load_ext", "mlops_magics")
        sh.run_line_magic("track", "start loop -e loop")
        import mlflow
        run_id = mlflow.active_run().info.run_id
        t = time.perf_counter()
        for i in range(n):
            sh.run_line_magic("track", f"log metric loss={1 / (i + 1)}")
        sh.run_line_magic("track", "end")
    else:
        import mlflow
        from mlops_magics.tracking import client
        client()  # the same embedded store (WAL, busy timeout), made the tracking URI
        mlflow.set_experiment("loop")
        t = time.perf_counter()
        with mlflow.start_run() as run:
            for i in range(n):
                mlflow.log_metric("loss", 1 / (i + 1), step=i, synchronous=mode == "mlflow")
        run_id = run.info.run_id
    secs = time.perf_counter() - t
    from mlops_magics.tracking import client
    stored = len(client().get_metric_history(run_id, "loss"))
    print(json.dumps({"seconds": secs, "stored": stored}))
    """
)
CHECK = "import sys; from mlops_magics.tracking import client, get_run; get_run(sys.argv[1]); print(len(client().get_metric_history(sys.argv[1], 'loss')))"


def _case(mode: str, n: int) -> dict:
    work = tempfile.mkdtemp(prefix=f"bench-loop-{mode}-")
    env = {**os.environ, "MLOPS_HOME": os.path.join(work, ".mlops")}
    env.pop("MLFLOW_TRACKING_URI", None)
    out = subprocess.run([sys.executable, "-c", CASE, mode, str(n)], capture_output=True, text=True, cwd=work,
                         env=env)  # fmt: skip
    if mode == "kill":
        run_id = json.loads(out.stdout.strip().splitlines()[-1])["run_id"]
        check = subprocess.run([sys.executable, "-c", CHECK, run_id], capture_output=True, text=True, cwd=work,
                               env=env, check=True)  # fmt: skip
        return {"stored": int(check.stdout.strip().splitlines()[-1]), "killed": out.returncode == -9}
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(repeat: int | None = None, n: int = 10_000) -> str:
    repeat = repeat or int(os.environ.get("BENCH_REPEAT", "3"))
    sides = {
        "tracking.log (API)": ("api", n),
        "%track log metric (magic)": ("magic", n),
        "raw mlflow.log_metric, synchronous": ("mlflow", 1000),
        "raw mlflow.log_metric, synchronous=False": ("mlflow-async", n),
    }
    results: dict[str, list[dict]] = {k: [] for k in sides}
    for _ in range(repeat):  # interleaved
        for name, (mode, count) in sides.items():
            results[name].append(_case(mode, count))
    rows, verdicts = [], []
    for name, (_mode, count) in sides.items():
        rs = results[name]
        rate = median([count / r["seconds"] for r in rs])
        lost = max(count - r["stored"] for r in rs)
        rows.append([name, count, median([r["seconds"] for r in rs]), f"{rate:.0f}", lost])
        if _mode in ("api", "magic"):
            verdicts.append(goal(f"10,000 points: {name}", f"{rate:,.0f}/s, {lost} lost", ">= 5,000/s, 0 lost",
                                 rate >= 5000 and lost == 0))  # fmt: skip
    killed = _case("kill", n)
    return (
        table(f"logging loop into the embedded SQLite store, fresh processes, interleaved (medians of {repeat})",
              ["side", "points", "seconds to stored", "points/s", "lost (worst)"], rows)
        + "\n\n" + "\n".join(verdicts) + "\n"
        + goal(f"SIGKILL after {n:,} points, end_run never called: found by the next process",
               f"{killed['stored']:,}", f"{n:,}", killed["stored"] == n)
    )  # fmt: skip


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    print(run())
