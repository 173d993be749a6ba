"""`mlops-magics run one_cell.ipynb` against the `papermill` CLI on the same notebook, as whole processes
(issue #22).

Each side is a fresh process, as a user or a scheduler starts it: interpreter start, imports, the kernel,
the cell, and for ours the MLflow parent and step runs, the record and the output notebook kept as
artifacts. The two sides alternate (A, B, A, B, ...) so a change in the machine's load hits both alike;
medians. The workspace exists already (one warm-up run each), as it does after a user's first run.
Goal: ours <= 1.2x papermill.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import goal, median, table

BIN = Path(sys.executable).parent


def _notebook(path: Path) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    nbformat.write(nb, path)
    return path


def _time(cmd: list[str], env: dict, cwd: Path) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=cwd)
    return time.perf_counter() - t


def run(repeat: int | None = None) -> str:
    repeat = repeat or int(os.environ.get("BENCH_REPEAT", "7"))
    work = Path(tempfile.mkdtemp(prefix="bench-pipeline-start-"))
    nb = _notebook(work / "one_cell.ipynb")
    env = {**os.environ, "MLOPS_HOME": str(work / "ws"), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME"):
        env.pop(var, None)
    sides = {
        "papermill CLI": [str(BIN / "papermill"), "-k", "python3", "--no-progress-bar", str(nb), str(work / "pm.ipynb")],
        "mlops-magics run": [str(BIN / "mlops-magics"), "run", str(nb)],
    }  # fmt: skip
    for cmd in sides.values():  # warm-up: the workspace and its store exist, the OS cache holds the files
        _time(cmd, env, work)
    times: dict[str, list[float]] = {k: [] for k in sides}
    for _ in range(repeat):
        for name, cmd in sides.items():
            times[name].append(_time(cmd, env, work))
    pm, ours = median(times["papermill CLI"]), median(times["mlops-magics run"])
    rows = [[name, len(ts), median(ts), min(ts), max(ts), median(ts) / pm] for name, ts in times.items()]
    ratio = ours / pm
    return (
        table(
            f"pipeline start-up: a 1-cell notebook, whole processes, interleaved (medians of {repeat})",
            ["side", "n", "median s", "min s", "max s", "ratio"],
            rows,
        )
        + "\n\n"
        + goal("mlops-magics run 1-cell notebook vs papermill CLI", ratio, "<= 1.2x", ratio <= 1.2)
        + f" ({ours - pm:+.2f} s per notebook)"
    )


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    print(run())
