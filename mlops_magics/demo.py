"""``make demo``: the credit-risk notebooks run headless on the embedded defaults, then a summary.

Each notebook runs with papermill and gets only the parameters it declares. Executed notebooks are
kept under the workspace's ``pipelines/`` folder. Every server the notebooks started is stopped.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

NOTEBOOKS = ("01_features.ipynb", "02_train.ipynb", "03_deploy.ipynb", "04_monitor.ipynb")
DEFAULT_DIR = Path(__file__).resolve().parents[1] / "notebooks"


def run_demo(data_path: str = "", target: str = "creditability", positive_label: str = "bad",
             notebooks_dir: Path | None = None, home: str | None = None, log=print) -> dict:  # fmt: skip
    import papermill as pm

    from .config import get_config
    from .servers import stop_all
    from .workspace import current

    notebooks_dir = Path(notebooks_dir or DEFAULT_DIR)
    if home:
        get_config().home = str(Path(home).resolve())
    ws = current().ensure()
    out_dir = ws.pipelines_dir / f"demo-{time.strftime('%Y%m%d-%H%M%S')}"
    out_dir.mkdir(parents=True, exist_ok=True)
    given = {"data_path": str(Path(data_path).resolve()) if data_path else "", "target": target,
             "positive_label": positive_label}  # fmt: skip
    env_before = {k: os.environ.get(k) for k in ("MLOPS_HOME", "MLOPS_NOTEBOOK_PATH")}
    os.environ["MLOPS_HOME"] = str(ws.root)  # the kernels work in the same workspace
    try:
        for name in NOTEBOOKS:
            src = notebooks_dir / name
            declared = pm.inspect_notebook(str(src))
            params = {k: v for k, v in given.items() if k in declared}
            os.environ["MLOPS_NOTEBOOK_PATH"] = str(src)
            log(f"demo: running {name} {params or ''}")
            t = time.perf_counter()
            pm.execute_notebook(str(src), str(out_dir / name), parameters=params, kernel_name="python3",
                                cwd=str(notebooks_dir), progress_bar=False)  # fmt: skip
            log(f"demo: {name} done in {time.perf_counter() - t:.1f} s")
    finally:
        for key, value in env_before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        stop_all()
    summary = json.loads((ws.root / "demo" / "summary.json").read_text())
    summary.update(workspace=str(ws.root), notebooks=str(out_dir))
    return summary


def format_summary(s: dict) -> str:
    return "\n".join([
        "credit-risk demo: done",
        f"  champion        {s['champion_name']} (run {s['champion_run']}), AUC {s['auc']:.3f}",
        f"  registered      {s['model_uri']} (version {s['version']})",
        f"  endpoint        {s['endpoint']} (MLServer; stopped at the end)",
        f"  drift verdict   {'DRIFT' if s['drift'] else 'no drift'}: {s['drift_share']:.0%} of columns drifted"
        + (f" ({', '.join(s['drifted'])})" if s["drifted"] else "") + f"; report {s['drift_report']}",
        f"  notebooks       {s['notebooks']}",
        f"  workspace       {s['workspace']}  (mlops-magics --home {s['workspace']} status)",
    ])  # fmt: skip
