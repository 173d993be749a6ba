"""8 processes each logging 1,000 metrics at once into the embedded SQLite store (issue #3).

Counts the metrics that reached the store and the "database is locked" errors that reached a user.
Goal: 0 lost, 0 errors. Also prints the same load written through raw MLflow on a plain SQLite URI
(no WAL, no busy timeout, no retry) for comparison.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import time

WRITER = textwrap.dedent(
    """
    import sys, time
    n, count, start_at, mode, uri = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
    errors = 0
    if mode == "mlops":
        from mlops_magics import tracking
        run_id = tracking.start_run(f"w{n}", "concurrency")
        def log(i):
            tracking.log(run_id, metrics={f"m{i}": i})
        finish = lambda: tracking.end_run(run_id)
    else:
        import mlflow
        mlflow.set_tracking_uri(uri)
        client = mlflow.MlflowClient()
        exp = client.get_experiment_by_name("concurrency")
        exp_id = exp.experiment_id if exp else client.create_experiment("concurrency")
        run_id = client.create_run(exp_id, run_name=f"w{n}").info.run_id
        def log(i):
            client.log_metric(run_id, f"m{i}", i)
        finish = lambda: client.set_terminated(run_id)
    time.sleep(max(0, start_at - time.time()))
    t = time.perf_counter()
    for i in range(count):
        try:
            log(i)
        except Exception as exc:
            errors += 1
    finish()
    print(run_id, errors, time.perf_counter() - t)
    """
)


def _load(mode: str, procs: int, count: int) -> tuple[int, int, float]:
    work = tempfile.mkdtemp(prefix=f"bench-conc-{mode}-")
    uri = f"sqlite:///{work}/raw.db"
    if mode == "raw":  # create the schema once, as a user would by touching the store first
        subprocess.run([sys.executable, "-c", f"import mlflow; mlflow.MlflowClient('{uri}').search_experiments()"],
                       check=True, capture_output=True)  # fmt: skip
    env = {**os.environ, "MLOPS_HOME": f"{work}/.mlops"}
    start_at = time.time() + 10
    ps = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(n), str(count), str(start_at), mode, uri],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=work)
        for n in range(procs)
    ]  # fmt: skip
    outs = [p.communicate(timeout=1800) for p in ps]
    run_ids, errors, wall = [], 0, 0.0
    for p, (out, _err) in zip(ps, outs):
        if p.returncode != 0 or not out.strip():
            errors += count
            continue
        run_id, errs, secs = out.strip().splitlines()[-1].split()
        run_ids.append(run_id)
        errors += int(errs)
        wall = max(wall, float(secs))
    import mlflow

    c = mlflow.MlflowClient(uri if mode == "raw" else f"sqlite:///{work}/.mlops/mlflow/mlflow.db")
    stored = sum(len(c.get_run(r).data.metrics) for r in run_ids)
    return procs * count - stored, errors, wall


def run(procs: int = 8, count: int = 1000) -> str:
    from _common import goal, table

    rows = []
    for mode, label in (("mlops", "mlops_magics.tracking.log (WAL, busy timeout, retry)"),
                        ("raw", "raw MlflowClient.log_metric, plain sqlite URI")):  # fmt: skip
        lost, errors, wall = _load(mode, procs, count)
        rows.append([label, procs * count, lost, errors, wall, procs * count / wall if wall else 0.0])
    return (
        table(f"{procs} processes x {count} metrics at once into one SQLite store",
              ["writer", "metrics sent", "lost", "errors seen by user", "slowest process s", "metrics/s"], rows)
        + "\n\n" + goal(f"{procs} writers x {count} metrics: lost, errors", f"{rows[0][2]}, {rows[0][3]}", "0, 0",
                          rows[0][2] == 0 and rows[0][3] == 0)
    )  # fmt: skip


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    print(run(int(os.environ.get("BENCH_PROCS", "8")), int(os.environ.get("BENCH_COUNT", "1000"))))
