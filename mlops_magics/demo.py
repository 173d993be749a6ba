"""``make demo``: ``notebooks/pipeline.yaml`` run headless on the embedded defaults, then a summary.

The pipeline engine runs the four credit-risk notebooks with papermill (one MLflow parent run, a child
run per step); the executed notebooks are kept under the workspace's ``pipelines/`` folder. Every
server the notebooks started is stopped.
"""

from __future__ import annotations

from pathlib import Path

from .errors import PipelineFailed

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "notebooks"


def run_demo(data_path: str = "", target: str = "creditability", positive_label: str = "bad",
             notebooks_dir: Path | None = None, home: str | None = None, log=print) -> dict:  # fmt: skip
    from .config import get_config
    from .pipelines.local import run
    from .servers import stop_all
    from .serving.deployments import stop_all as stop_deployments
    from .workspace import current

    pipeline = Path(notebooks_dir or DEFAULT_DIR) / "pipeline.yaml"
    if home:
        get_config().home = str(Path(home).resolve())
    ws = current().ensure()
    given = {"data_path": str(Path(data_path).resolve()) if data_path else "", "target": target,
             "positive_label": positive_label}  # fmt: skip
    try:
        result = run(pipeline, given, progress=False, log=lambda line: log(f"demo: {line}"))
    finally:
        stop_all()
        stop_deployments()  # a failed step may leave the endpoint up
    if not result.ok:
        raise PipelineFailed(result.failures)
    summary = read_summary()
    summary.update(workspace=str(ws.root), notebooks=result.folder, run=result.run_id)
    return summary


def read_summary(model: str = "credit-risk", deployment: str = "credit-risk", config=None) -> dict:
    """What the demo did, read from the services (the notebooks hand nothing over in files): the champion
    from MLflow's registry, its last drift check from the tags monitoring put on its run."""
    from . import schema
    from .errors import UserInputError
    from .serving import deployments
    from .tracking import client, resolve_run

    version = client(config).get_model_version_by_alias(model, "champion")
    run = resolve_run(version.run_id, config)
    try:
        endpoint = deployments.get(deployment, config).infer_url
    except UserInputError:  # run by another engine: the endpoint was not this workspace's
        endpoint = ""
    drifted = run.tags.get(schema.LAST_DRIFT_COLUMNS, "")
    return {"champion_run": run.run_id, "champion_name": run.name, "auc": run.metrics.get("auc"),
            "model_uri": f"models:/{model}@champion", "version": version.version, "endpoint": endpoint,
            "drift": bool(run.metrics.get("dataset_drift")), "drift_share": run.metrics.get("drift_share"),
            "drifted": drifted.split(",") if drifted else [], "drift_verdict": run.tags.get(schema.LAST_DRIFT_VERDICT),
            "drift_report": run.tags.get(schema.LAST_DRIFT_REPORT)}  # fmt: skip


def format_summary(s: dict) -> str:
    return "\n".join([
        "credit-risk demo: done",
        f"  champion        {s['champion_name']} (run {s['champion_run']}), AUC {s['auc']:.3f}",
        f"  registered      {s['model_uri']} (version {s['version']})",
        f"  endpoint        {s['endpoint']} (MLServer; stopped at the end)",
        f"  drift verdict   {s.get('drift_verdict') or ('DRIFT' if s['drift'] else 'no drift')}"
        + (f" ({', '.join(s['drifted'])})" if s["drifted"] else "")
        + f"; report {s['drift_report']}",
        f"  notebooks       {s['notebooks']}  (pipeline run {s['run']})",
        f"  workspace       {s['workspace']}  (mlops-magics --home {s['workspace']} status)",
    ])  # fmt: skip
