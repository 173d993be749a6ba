"""Serving by entity id (issue #16): four ways to score one applicant, side by side in one run.

(a) the enriched endpoint: ``%deploy --entity applicant_id``, the request holds the id only;
(b) the model-only endpoint, the client sending all the features;
(c) the demo's earlier path from Python: ``features.online`` then ``serving.predict``;
(d) the transformer pattern: Feast's own feature server (``feast serve``) then the model endpoint, two
    HTTP hops from the client.

Latency: 300 sequential 1-entity requests per path after 30 warm-ups, interleaved round-robin so machine
noise hits all alike. Throughput: wrk at 32 connections for (a) and (b). Goals: (a)'s p99 at 1 connection
<= (b)'s p99 + 2 ms; (a)'s throughput >= 0.8x (b)'s; (a) faster than (c) and (d) at p50 and p99.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time


def _world(work: str):
    import numpy as np
    import pandas as pd
    from IPython.core.interactiveshell import InteractiveShell

    os.chdir(work)
    sh = InteractiveShell.instance()
    sh.run_line_magic("load_ext", "mlops_magics")
    rng = np.random.default_rng(0)
    n = 2000
    df = pd.DataFrame({"applicant_id": np.arange(n), "event_timestamp": pd.Timestamp("2024-01-01"),
                       **{f"x{i}": rng.normal(0, 1, n) for i in range(15)},
                       "purpose": rng.choice(["car", "tv", "education"], n)})  # fmt: skip
    sh.user_ns.update(df=df, outcome=df[["applicant_id", "event_timestamp"]].assign(bad=(df.x0 > 0).astype(int)),
                      ents=df[["applicant_id"]].assign(event_timestamp=pd.Timestamp("2024-06-01", tz="UTC")))  # fmt: skip
    sh.run_cell_magic("feature", "profile --entity applicant_id --timestamp event_timestamp", "df")
    sh.run_cell_magic("feature", "outcome --entity applicant_id --timestamp event_timestamp", "outcome")
    sh.run_line_magic("feature", "get profile outcome --entities ents -o training")
    sh.run_cell(
        "from mlops_magics.features import model_frame\nfrom sklearn.compose import ColumnTransformer\n"
        "from sklearn.linear_model import LogisticRegression\nfrom sklearn.pipeline import make_pipeline\n"
        "from sklearn.preprocessing import OneHotEncoder\n"
        "X = model_frame(training, drop=['applicant_id', 'event_timestamp', 'bad'])\n"
        "prep = ColumnTransformer([('c', OneHotEncoder(handle_unknown='ignore'), ['purpose'])], remainder='passthrough')"
    )  # fmt: skip
    sh.run_cell_magic(
        "track",
        "bench --model model",
        "model = make_pipeline(prep, LogisticRegression()).fit(X, training.bad)",
    )
    sh.run_line_magic("track", "register last --name bench --alias champion")
    return sh


def run(seconds: int | None = None) -> str:
    import httpx

    from _common import goal, percentile, table

    if shutil.which("wrk") is None:
        return "bench_entity: wrk is not installed (apt-get install wrk); skipped"
    seconds = seconds or int(os.environ.get("BENCH_SECONDS", "15"))
    work = tempfile.mkdtemp(prefix="bench-entity-")
    sh = _world(work)
    from bench_serving import _wrk

    from mlops_magics import features, servers, serving
    from mlops_magics.features.repo import store

    a = serving.deploy("models:/bench@champion", "by-id", entity="applicant_id", log=lambda *_: None)
    b = serving.deploy("models:/bench@champion", "model-only", log=lambda *_: None)
    columns = [c["name"] for c in b.inputs]
    refs = [f"profile:{c}" for c in columns]
    port = servers.free_port()
    feast_bin = os.path.join(os.path.dirname(sys.executable), "feast")
    servers.start("feast-serve", [feast_bin, "serve", "-h", "127.0.0.1", "-p", str(port)], host="127.0.0.1", port=port,
                  log_path=os.path.join(work, "feast.log"), ready=lambda s: servers.http_ok(f"{s.url}/health"),
                  timeout=180, cwd=str(store().repo_path))  # fmt: skip
    client = httpx.Client(trust_env=False, timeout=30)
    rows = sh.user_ns["df"].set_index("applicant_id")

    def body_id(i):
        return {"inputs": [{"name": "applicant_id", "datatype": "INT64", "shape": [1], "data": [int(i)]}]}

    from mlops_magics.serving import v2

    def path_a(i):
        client.post(a.infer_url, json=body_id(i)).raise_for_status()

    def path_b(i):
        client.post(b.infer_url, json=v2.encode(rows.loc[[i], columns])).raise_for_status()

    def path_c(i):
        online = features.online(refs, [{"applicant_id": int(i)}])
        serving.predict("model-only", features.model_frame(online[columns]))

    def path_d(i):
        got = client.post(f"http://127.0.0.1:{port}/get-online-features",
                          json={"features": refs, "entities": {"applicant_id": [int(i)]}}).json()  # fmt: skip
        names = got["metadata"]["feature_names"]
        values = {n: r["values"] for n, r in zip(names, got["results"])}
        body = {"inputs": [{"name": c, "shape": [1], "datatype": "BYTES" if c == "purpose" else "FP64",
                            "data": values[c]} for c in columns]}  # fmt: skip
        client.post(b.infer_url, json=body).raise_for_status()

    paths = {"(a) enriched endpoint, id only": path_a, "(b) model endpoint, client sends features": path_b,
             "(c) features.online + serving.predict": path_c, "(d) feast serve + model endpoint (2 hops)": path_d}  # fmt: skip
    times = {k: [] for k in paths}
    try:
        for i in range(30):
            for fn in paths.values():
                fn(i)
        for i in range(300):
            for k, fn in paths.items():
                t = time.perf_counter()
                fn(i % 2000)
                times[k].append((time.perf_counter() - t) * 1000)
        rps_a = _wrk(a.infer_url, body_id(7), 32, seconds)[0]
        rps_b = _wrk(b.infer_url, v2.encode(rows.loc[[7], columns]), 32, seconds)[0]
    finally:
        servers.stop("feast-serve")
        serving.stop_all()
    stats = {k: (percentile(v, 0.5), percentile(v, 0.99)) for k, v in times.items()}
    shown = [[k, f"{p50:.2f}", f"{p99:.2f}"] for k, (p50, p99) in stats.items()]
    (a50, a99), (_, b99) = (
        stats["(a) enriched endpoint, id only"],
        stats["(b) model endpoint, client sends features"],
    )
    c, d = stats["(c) features.online + serving.predict"], stats["(d) feast serve + model endpoint (2 hops)"]
    goals = [
        goal("entity endpoint p99 vs model endpoint p99 + 2 ms", f"{a99:.2f} vs {b99 + 2:.2f} ms", "<=", a99 <= b99 + 2),
        goal("entity endpoint req/s at 32 conns vs model endpoint", rps_a / rps_b, ">= 0.8x", rps_a >= 0.8 * rps_b),
        goal("entity endpoint faster than two hops at p50 and p99", f"{a50:.1f}/{a99:.1f} ms", "< (c), (d)",
             a50 < min(c[0], d[0]) and a99 < min(c[1], d[1])),
    ]  # fmt: skip
    return (table("1-entity scoring, 300 interleaved sequential requests per path (ms)", ["path", "p50", "p99"], shown)
            + "\n\n" + "\n".join(goals))  # fmt: skip


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    print(run())
