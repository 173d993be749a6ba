"""The credit-risk notebooks, executed headless as `make demo` runs them: notebooks/pipeline.yaml."""

import json

import nbformat
import numpy as np
import pandas as pd
from click.testing import CliRunner

from mlops_magics.cli import main
from mlops_magics.demo import DEFAULT_DIR

from conftest import ROOT

STEPS = ("features", "train", "deploy", "monitor")


def _errors(path):
    nb = nbformat.read(path, 4)
    return [
        o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"
    ]


def test_demo_runs_end_to_end_on_german_credit(tmp_path):
    result = CliRunner().invoke(main, ["--home", str(tmp_path / "ws"), "demo"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "credit-risk demo: done" in result.output and "AUC" in result.output
    summary = json.loads((tmp_path / "ws" / "demo" / "summary.json").read_text())
    assert 0.6 < summary["auc"] <= 1.0
    assert summary["model_uri"] == "models:/credit-risk@champion"
    assert summary["endpoint"].startswith("http://127.0.0.1:") and summary["endpoint"].endswith("/infer")
    assert isinstance(summary["drift"], bool) and 0 < summary["drift_share"] <= 1  # the stream was shifted
    assert "drift verdict" in result.output and "endpoint" in result.output
    out_dir = next((tmp_path / "ws" / "pipelines").glob("credit-risk-*"))
    for step in STEPS:
        assert not _errors(out_dir / f"{step}.ipynb"), step
    # lineage: the champion's run knows the notebook and the feature views it was trained on
    from mlops_magics.config import get_config
    from mlops_magics.tracking import get_run

    get_config().home = str(tmp_path / "ws")
    from mlops_magics.serving import local

    assert local.get("credit-risk").status == "STOPPED"  # make demo leaves no server running
    run = get_run(summary["champion_run"])
    assert run.tags["mlops_magics.notebook"] == str(ROOT / "notebooks" / "02_train.ipynb")
    train_step = get_run(run.tags["mlops_magics.pipeline_step_run"])  # nested under the pipeline's step
    assert train_step.tags["mlops_magics.pipeline_step"] == "train"
    assert run.tags["mlops_magics.pipeline_run"] == train_step.tags["mlops_magics.pipeline_run"]
    assert f"pipeline run {run.tags['mlops_magics.pipeline_run']}" in result.output
    views = {u["view"] for u in json.loads(run.tags["mlops_magics.features"])}
    assert views == {"applicant_profile", "credit_outcome"}


def test_demo_is_generic_over_credit_csvs(tmp_path):
    """Another credit data set, other column names and labels: the same notebooks, unchanged."""
    rng = np.random.default_rng(7)
    n = 400
    income = rng.normal(50, 15, n)
    amount = rng.normal(10, 4, n)
    home = rng.choice(["RENT", "OWN", "MORTGAGE"], n)
    risk = -0.08 * income + 0.3 * amount + (home == "RENT") * 0.8 + rng.normal(0, 1, n)
    pd.DataFrame({
        "Annual Income (k)": income.round(1), "Loan.Amount": amount.round(2), "Home Ownership": home,
        "Default": np.where(risk > np.quantile(risk, 0.7), "yes", "no"),
    }).to_csv(tmp_path / "loans.csv", index=False)  # fmt: skip
    result = CliRunner().invoke(main, ["--home", str(tmp_path / "ws"), "run", str(DEFAULT_DIR / "pipeline.yaml"),
                                       "-p", "data_path", str(tmp_path / "loans.csv"), "-p", "target", "Default",
                                       "-p", "positive_label", "yes", "--no-progress"], catch_exceptions=False)  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "ws" / "demo" / "summary.json").read_text())
    assert 0.6 < summary["auc"] <= 1.0
    out_dir = next((tmp_path / "ws" / "pipelines").glob("credit-risk-*"))
    for step in STEPS:
        assert not _errors(out_dir / f"{step}.ipynb"), step
    record = json.loads((out_dir / "record.json").read_text())
    assert record["inputs"][str(tmp_path / "loans.csv")]["parameter"] == "data_path"
