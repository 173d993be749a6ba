"""%%feature's API against raw Feast doing the same work (issue #4).

1. Register + materialize 10k and 100k rows: ``features.register_frame`` (validation, fingerprint,
   parquet, plan, apply under the registry lock, materialize) against raw Feast (parquet, apply,
   materialize) on the same frame. Goal: ratio <= 1.1.
2. Online lookup of 1 and 100 entities: ``features.online`` against raw ``get_online_features``,
   200 timed calls after 50 warm-ups. Goal: p50 and p99 within 1.1x + 0.5 ms.
"""

from __future__ import annotations

import functools
import os
import statistics
import tempfile
import time
from datetime import timedelta


def _frame(n: int):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "applicant_id": np.arange(n),
        "event_timestamp": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 365 * 24, n), unit="h"),
        "age": rng.integers(18, 80, n), "credit_amount": rng.random(n) * 10000,
        "duration_in_month": rng.integers(4, 72, n), "purpose": rng.choice(["car", "tv", "education"], n),
    })  # fmt: skip


def _raw_register(df, work: str, name: str):
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
    from feast.types import Float64, Int64, String

    repo = os.path.join(work, "raw")
    os.makedirs(os.path.join(repo, "data"), exist_ok=True)
    with open(os.path.join(repo, "feature_store.yaml"), "w") as f:
        f.write(f"project: raw\nprovider: local\nregistry: {repo}/registry.db\n"
                f"online_store: {{type: sqlite, path: {repo}/online.db}}\nentity_key_serialization_version: 3\n")  # fmt: skip
    fs = FeatureStore(repo_path=repo)
    path = os.path.join(repo, "data", f"{name}.parquet")
    df.to_parquet(path, index=False)
    ent = Entity(name="applicant_id", join_keys=["applicant_id"], value_type=ValueType.INT64)
    view = FeatureView(
        name=name, entities=[ent], ttl=timedelta(0),
        schema=[Field(name="applicant_id", dtype=Int64), Field(name="age", dtype=Int64),
                Field(name="credit_amount", dtype=Float64), Field(name="duration_in_month", dtype=Int64),
                Field(name="purpose", dtype=String)],
        source=FileSource(path=path, timestamp_field="event_timestamp"),
    )  # fmt: skip
    fs.apply([ent, view])
    ts = df["event_timestamp"]
    fs.materialize(ts.min() - timedelta(seconds=1), ts.max() + timedelta(seconds=1), feature_views=[name])
    return fs


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def run(repeat: int = 3) -> str:
    import contextlib
    import io

    from _common import percentile, table

    work = tempfile.mkdtemp(prefix="bench-features-")
    os.chdir(work)
    os.environ["MLOPS_HOME"] = os.path.join(work, ".mlops")
    from mlops_magics import features

    quiet = contextlib.redirect_stderr(io.StringIO())  # Feast's progress bars
    rows = []
    for n in (10_000, 100_000):
        df = _frame(n)
        ours, raw = [], []
        for i in range(repeat):
            data = df.assign(age=df.age + i)  # a changed frame each round: a real new version
            with quiet:
                raw.append(_timed(functools.partial(_raw_register, data, work, f"v{n}")))
                ours.append(_timed(functools.partial(
                    features.register_frame, data, f"v{n}", "applicant_id", "event_timestamp")))  # fmt: skip
        r, o = statistics.median(raw), statistics.median(ours)
        rows.append([f"register + materialize {n:,} rows", f"{o:.2f} s", f"{r:.2f} s", f"{o / r:.3f}",
                     "PASS" if o / r <= 1.1 else "FAIL"])  # fmt: skip
    raw_fs = _raw_register(_frame(10_000), work, "lookup")
    with quiet:
        features.register_frame(_frame(10_000), "lookup", "applicant_id", "event_timestamp")
    refs = ["lookup:age", "lookup:credit_amount", "lookup:purpose"]
    for k in (1, 100):
        entity_rows = [{"applicant_id": i} for i in range(k)]
        ours_fn = functools.partial(features.online, refs, entity_rows)

        def raw_fn(rows=entity_rows):
            return raw_fs.get_online_features(
                features=refs, entity_rows=rows
            ).to_df()  # ours returns a frame too

        for _ in range(50):
            ours_fn()
            raw_fn()
        o_t, r_t = [], []
        for _ in range(200):  # interleaved, so machine noise hits both alike
            o_t.append(_timed(ours_fn) * 1000)
            r_t.append(_timed(raw_fn) * 1000)
        for q, label in ((0.5, "p50"), (0.99, "p99")):
            o, r = percentile(o_t, q), percentile(r_t, q)
            ok = o <= 1.1 * r + 0.5
            rows.append([f"online lookup {k} entities {label}", f"{o:.3f} ms", f"{r:.3f} ms", f"{o / r:.3f}",
                         "PASS" if ok else "FAIL"])  # fmt: skip
    return table(
        "%%feature API vs raw Feast (sqlite online store, local provider)",
        ["operation", "mlops_magics", "raw Feast", "ratio", "goal (<=1.1x; lookups <=1.1x + 0.5 ms)"],
        rows,
    )


if __name__ == "__main__":
    import sys

    sys.path.insert(0, os.path.dirname(__file__))
    print(run())
