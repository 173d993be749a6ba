"""`mlops-magics run` against plain papermill (issue #7).

1. A 4-step pipeline with two independent branches (prep_a -> train_a, prep_b -> train_b), each step
   a real notebook (pandas + scikit-learn): the local engine with ``--parallel 2`` against the same
   four notebooks run one by one with ``papermill.execute_notebook``. Goal: ratio <= 0.65.
2. Per-step overhead: the same four steps with ``--parallel 1`` against papermill one by one,
   divided by four (MLflow parent/child runs, the record, artifacts, the step's kernel log).
Medians of 3 runs each, in this process (papermill imported once, as a script would).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import goal, table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

PREP = "import numpy as np, pandas as pd\nrng = np.random.default_rng(seed)\nX = pd.DataFrame(rng.normal(size=(rows, 20)))\nX.to_parquet(out)"
TRAIN = ("import pandas as pd\nfrom sklearn.ensemble import RandomForestClassifier\nX = pd.read_parquet(src)\n"
         "y = (X[0] + X[1] > 0).astype(int)\nRandomForestClassifier(n_estimators=trees, n_jobs=1, random_state=0).fit(X, y)")  # fmt: skip


def _pipeline(folder: Path) -> Path:
    from pipeline_notebooks import notebook

    notebook(folder / "prep.ipynb", 'seed = 0\nrows = 20000\nout = "x.parquet"', PREP)
    notebook(folder / "train.ipynb", 'src = "x.parquet"\ntrees = 60', TRAIN)
    (folder / "pipeline.yaml").write_text(
        "name: bench\nsteps:\n"
        f"  prep_a: {{notebook: prep.ipynb, parameters: {{out: {folder}/a.parquet}}}}\n"
        f"  train_a: {{notebook: train.ipynb, needs: [prep_a], parameters: {{src: {folder}/a.parquet}}}}\n"
        f"  prep_b: {{notebook: prep.ipynb, parameters: {{seed: 1, out: {folder}/b.parquet}}}}\n"
        f"  train_b: {{notebook: train.ipynb, needs: [prep_b], parameters: {{src: {folder}/b.parquet}}}}\n"
    )
    return folder / "pipeline.yaml"


def _papermill(folder: Path, out: Path) -> float:
    import papermill as pm

    t = time.perf_counter()
    for name, nb, params in [
        ("prep_a", "prep", {"out": f"{folder}/a.parquet"}), ("train_a", "train", {"src": f"{folder}/a.parquet"}),
        ("prep_b", "prep", {"seed": 1, "out": f"{folder}/b.parquet"}), ("train_b", "train", {"src": f"{folder}/b.parquet"}),
    ]:  # fmt: skip
        pm.execute_notebook(str(folder / f"{nb}.ipynb"), str(out / f"{name}.ipynb"), parameters=params,
                            kernel_name="python3", progress_bar=False, cwd=str(folder))  # fmt: skip
    return time.perf_counter() - t


def _ours(pipeline: Path, parallel: int) -> float:
    from mlops_magics.pipelines.local import run

    t = time.perf_counter()
    result = run(pipeline, parallel=parallel, progress=False, log=lambda *_: None)
    assert result.ok, result.failures
    return time.perf_counter() - t


def run(repeat: int = 3) -> str:
    import os

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ["MLOPS_HOME"] = str(folder / "ws")
        pipeline = _pipeline(folder)
        (folder / "pm").mkdir()
        _papermill(folder, folder / "pm")  # warm caches (imports, the first kernel)
        _ours(pipeline, 2)
        plain, par, seq = [], [], []
        for _ in range(repeat):
            plain.append(_papermill(folder, folder / "pm"))
            par.append(_ours(pipeline, 2))
            seq.append(_ours(pipeline, 1))
        os.environ.pop("MLOPS_HOME")
    p, a, s = (statistics.median(x) for x in (plain, par, seq))
    goal("4-step pipeline --parallel 2 vs papermill one by one", a / p, "<= 0.65x", a / p <= 0.65)
    return table(
        f"pipelines: 4 steps, two independent branches (medians of {repeat})",
        ["what", "seconds", "ratio to papermill one by one", "goal"],
        [
            ["papermill one by one", p, 1.0, ""],
            ["mlops-magics run --parallel 2", a, a / p, "<= 0.65"],
            ["mlops-magics run --parallel 1", s, s / p, ""],
            ["overhead per step (parallel 1)", (s - p) / 4, "", ""],
        ],
    )


if __name__ == "__main__":
    print(run())
