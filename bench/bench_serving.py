"""%deploy (MLServer) against `mlflow models serve` on the same MLflow model, under wrk (issue #5).

Single-row requests for BENCH_SECONDS (default 20) at 8 and 32 connections, wrk and the servers on the
same 2 cores. Both servers run one worker process. Rows: mlflow models serve; MLServer with adaptive
batching and request logging (the %deploy default); the same without logging (logging's own cost);
MLServer without batching. Also the time from deploy() to ready with the serving env cached.
Goals: >= 8x mlflow's throughput at 32 connections (#22; #5 asked 5x) with p99 at most half of it;
p99 <= 3x p50 at 8 connections (#22); logging cost <= 10%.
Needs wrk (apt-get install wrk). Uses the demo's champion (run `make demo` first) or trains one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _wrk(url: str, body: dict, conns: int, seconds: int) -> tuple[float, float, float, int]:
    script = Path(tempfile.mkdtemp()) / "post.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(json.dumps(body))}\n"
    )
    out = subprocess.run(["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)", out, re.M)
        return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1000.0}[m.group(2)]

    errors = sum(int(x) for x in re.findall(r"(?:Non-2xx or 3xx responses|timeout)\D+(\d+)", out))
    return rps, pct(50), pct(99), errors


def _model(work: str) -> str:
    """The demo's champion if `make demo` ran; else a German Credit pipeline trained here."""
    os.environ["MLOPS_HOME"] = str(ROOT / ".mlops") if (ROOT / ".mlops" / "mlflow" / "mlflow.db").is_file() \
        else os.path.join(work, ".mlops")  # fmt: skip
    from mlops_magics import tracking

    try:
        tracking.resolve_run("last")
        from mlops_magics.serving import resolve_model

        resolve_model("models:/credit-risk@champion")
        return "models:/credit-risk@champion"
    except Exception:
        from mlops_magics.demo import run_demo

        run_demo(home=os.environ["MLOPS_HOME"], log=lambda *_: None)
        return "models:/credit-risk@champion"


def run(seconds: int | None = None) -> str:
    from _common import goal, table

    seconds = seconds or int(os.environ.get("BENCH_SECONDS", "20"))
    if shutil.which("wrk") is None:
        return "bench_serving: wrk is not installed (apt-get install wrk); skipped"
    work = tempfile.mkdtemp(prefix="bench-serving-")
    uri = _model(work)
    from mlops_magics import servers
    from mlops_magics.serving import local, v2

    rows, deploy_times = [], []
    example = None
    for label, kwargs in (
        ("MLServer, batching + request log (%deploy default)", {}),
        ("MLServer, batching, no request log", {"log_requests": False}),
        ("MLServer, no batching, request log", {"batching": False}),
    ):
        t = time.perf_counter()
        dep = local.deploy(uri, "bench", log=lambda *_: None, **kwargs)
        deploy_times.append(time.perf_counter() - t)
        if example is None:
            example = local._example(Path(dep.folder) / "model").head(1)
        try:
            for conns in (8, 32):
                rows.append([label, conns, *_wrk(dep.infer_url, v2.encode(example), conns, seconds)])
        finally:
            local.stop("bench")
    # mlflow models serve, one worker, on the model folder %deploy downloaded
    env_bin = Path(sys.executable).parent
    port = servers.free_port()
    body = {"dataframe_split": json.loads(example.to_json(orient="split", index=False))}
    t = time.perf_counter()
    servers.start("mlflow-serve", [str(env_bin / "mlflow"), "models", "serve", "-m", str(Path(dep.folder) / "model"),
                                   "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "-w", "1"],
                  host="127.0.0.1", port=port, log_path=Path(work) / "mlflow-serve.log",
                  ready=lambda s: servers.http_ok(f"{s.url}/ping"), timeout=180,
                  env={"PATH": f"{env_bin}{os.pathsep}{os.environ['PATH']}"})  # fmt: skip
    mlflow_ready = time.perf_counter() - t
    try:
        for conns in (8, 32):
            rows.append(["mlflow models serve, 1 worker", conns,
                         *_wrk(f"http://127.0.0.1:{port}/invocations", body, conns, seconds)])  # fmt: skip
    finally:
        servers.stop("mlflow-serve")
    base = {r[1]: r for r in rows if r[0].startswith("mlflow")}
    shown = [[r[0], r[1], f"{r[2]:.0f}", f"{r[3]:.1f}", f"{r[4]:.1f}", r[5], f"{r[2] / base[r[1]][2]:.2f}x"]
             for r in rows]  # fmt: skip
    default = next(r for r in rows if r[1] == 32 and "default" in r[0])
    nolog = next(r for r in rows if r[1] == 32 and "no request log" in r[0])
    speedup, p99_ratio = default[2] / base[32][2], default[4] / base[32][4]
    log_cost = 1 - default[2] / nolog[2]
    tail8 = next(r for r in rows if r[1] == 8 and "default" in r[0])
    tail = tail8[4] / tail8[3]
    return (
        table(f"single-row requests, {seconds} s per row, wrk -t2 on the same 2 cores",
              ["server", "connections", "req/s", "p50 ms", "p99 ms", "errors", "vs mlflow"], shown)
        + "\n\n"
        + "\n".join([
            goal("serving at 8 conns: p99 / p50", tail, "<= 3x", tail <= 3),
            goal("serving at 32 conns: req/s vs mlflow models serve", speedup, ">= 8x", speedup >= 8),
            goal("serving at 32 conns: p99 vs mlflow models serve", p99_ratio, "<= 0.5x", p99_ratio <= 0.5),
            goal("serving: request logging cost at 32 conns", f"{log_cost:.1%}", "<= 10%", log_cost <= 0.10),
        ])
        + f"\ndeploy() to ready, env cached: {', '.join(f'{t:.1f} s' for t in deploy_times)}; "
        f"mlflow models serve to ready: {mlflow_ready:.1f} s"
    )  # fmt: skip


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    print(run())
