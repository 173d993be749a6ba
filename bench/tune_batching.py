"""Adaptive batching's size and window against the tail at 8 connections and the throughput at 32 (#22).

One local deployment of the same model per setting (``max_batch_size`` x ``max_batch_time``), each
measured with wrk at 8 and 32 connections (single-row requests, wrk on the same 2 cores), the settings
in turn and then again in reverse order, so a change in the machine's load does not favour one; medians
of the two passes. What the %deploy defaults should be: the best p99/p50 at 8 connections among the
settings that keep the most throughput at 32. Not part of `make bench`; run by hand (``python bench/tune_batching.py``):
it takes about BENCH_SECONDS x 4 x settings.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from _common import median, table

SIZES = (8, 16, 32)
WINDOWS = (0.005, 0.01)


def run(seconds: int | None = None) -> str:
    import shutil

    from bench_serving import _model, _wrk

    if shutil.which("wrk") is None:
        return "tune_batching: wrk is not installed (apt-get install wrk); skipped"
    seconds = seconds or int(os.environ.get("BENCH_SECONDS", "10"))
    uri = _model(tempfile.mkdtemp(prefix="bench-batching-"))
    from mlops_magics.serving import local, v2

    settings = [(s, w) for s in SIZES for w in WINDOWS]
    found: dict[tuple, list] = {k: [] for k in settings}
    body = None
    for order in (settings, settings[::-1]):
        for size, window in order:
            dep = local.deploy(uri, "bench-batching", max_batch_size=size, max_batch_time=window,
                               log=lambda *_: None)  # fmt: skip
            if body is None:
                body = v2.encode(local._example(Path(dep.folder) / "model").head(1))
            try:
                time.sleep(1)
                found[(size, window)].append([_wrk(dep.infer_url, body, c, seconds) for c in (8, 32)])
            finally:
                local.stop("bench-batching")
    rows = []
    for (size, window), passes in found.items():
        rps8, p50, p99 = (median([p[0][i] for p in passes]) for i in (0, 1, 2))
        rps32, p99_32 = (median([p[1][i] for p in passes]) for i in (0, 2))
        rows.append([size, f"{window * 1000:g}", f"{rps8:.0f}", f"{p50:.1f}", f"{p99:.1f}", f"{p99 / p50:.1f}",
                     f"{rps32:.0f}", f"{p99_32:.1f}"])  # fmt: skip
    return table(
        f"adaptive batching settings, wrk {seconds} s per run, two passes (forward, reverse), medians",
        ["max_batch_size", "window ms", "8c req/s", "8c p50 ms", "8c p99 ms", "8c p99/p50", "32c req/s",
         "32c p99 ms"], rows)  # fmt: skip


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    print(run())
