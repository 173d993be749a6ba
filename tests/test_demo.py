"""The credit-risk notebooks, executed headless as `make demo` runs them: notebooks/pipeline.yaml."""

import json

import nbformat
import pytest
from click.testing import CliRunner

from mlops_magics.cli import main
from mlops_magics.demo import DEFAULT_DIR

from conftest import ROOT
from credit_corpus import CORPUS, write

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
    from mlops_magics.config import get_config
    from mlops_magics.demo import read_summary

    get_config().home = str(tmp_path / "ws")
    summary = read_summary()  # from MLflow: the notebooks hand nothing over in files
    assert not (tmp_path / "ws" / "demo").exists()
    assert summary["drift_verdict"] and summary["drift_report"]
    assert 0.6 < summary["auc"] <= 1.0
    assert summary["model_uri"] == "models:/credit-risk@champion"
    assert summary["endpoint"].startswith("http://127.0.0.1:") and summary["endpoint"].endswith("/infer")
    assert isinstance(summary["drift"], bool) and 0 < summary["drift_share"] <= 1  # the stream was shifted
    assert "drift verdict" in result.output and "endpoint" in result.output
    out_dir = next((tmp_path / "ws" / "pipelines").glob("credit-risk-*"))
    for step in STEPS:
        assert not _errors(out_dir / f"{step}.ipynb"), step
    # lineage: the champion's run knows the notebook and the feature views it was trained on
    from mlops_magics.serving import local
    from mlops_magics.tracking import get_run

    assert local.get("credit-risk").status == "STOPPED"  # make demo leaves no server running
    run = get_run(summary["champion_run"])
    assert run.tags["mlops_magics.notebook"] == str(ROOT / "notebooks" / "02_train.ipynb")
    train_step = get_run(run.tags["mlops_magics.pipeline_step_run"])  # nested under the pipeline's step
    assert train_step.tags["mlops_magics.pipeline_step"] == "train"
    assert run.tags["mlops_magics.pipeline_run"] == train_step.tags["mlops_magics.pipeline_run"]
    assert f"pipeline run {run.tags['mlops_magics.pipeline_run']}" in result.output
    views = {u["view"] for u in json.loads(run.tags["mlops_magics.features"])}
    assert views == {"applicant_profile", "credit_outcome"}


@pytest.mark.parametrize(
    "file, target, positive, what, _", CORPUS, ids=[c[0].removesuffix(".csv") for c in CORPUS]
)
def test_the_demo_runs_unchanged_on_real_shaped_credit_data(tmp_path, file, target, positive, what, _):
    """The four notebooks, unchanged, on credit tables of every shape real data comes in (see
    tests/credit_corpus.py): the champion (whichever wins) carries its features, its training data is
    found again, and rows with gaps went through the endpoint."""
    csv = write(tmp_path, file)
    ws = tmp_path / "ws"
    args = ["--home", str(ws), "run", str(DEFAULT_DIR / "pipeline.yaml"), "-p", "data_path", str(csv),
            "-p", "target", target, "-p", "positive_label", positive, "--no-progress"]  # fmt: skip
    if file == "large.csv":
        args += ["-p", "train.n_estimators", "40"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out_dir = next((ws / "pipelines").glob("credit-risk-*"))
    for step in STEPS:
        assert not _errors(out_dir / f"{step}.ipynb"), step
    from mlops_magics.config import get_config
    from mlops_magics.demo import read_summary

    get_config().home = str(ws)
    summary = read_summary()
    assert 0.55 < summary["auc"] <= 1.0, what
    if file == "boosting_wins.csv":
        assert summary["champion_name"] == "boosting"
    record = json.loads((out_dir / "record.json").read_text())
    assert record["inputs"][str(csv)]["parameter"] == "data_path"

    from mlops_magics.monitoring.training import training_features
    from mlops_magics.serving import deployments
    from mlops_magics.tracking import client, search_runs

    candidates = [r for r in search_runs("credit-risk", last=50).runs if r.name in ("logistic", "boosting")]
    assert len(candidates) == 2
    for run in candidates:  # both candidates carry their training data, whichever won
        assert {u["view"] for u in json.loads(run.tags["mlops_magics.features"])} == {
            "applicant_profile",
            "credit_outcome",
        }
        assert run.tags["feast.feature_views"] == "applicant_profile,credit_outcome"
        datasets = client().get_run(run.run_id).inputs.dataset_inputs
        assert {d.dataset.name for d in datasets} == {"applicant_profile", "credit_outcome"}
        assert {d.dataset.source_type for d in datasets} == {"feast"}
    features, meta = training_features(f"{summary['champion_run']}")  # what %drift run:ID reads
    assert len(features) > 0 and meta["reference_run"] == summary["champion_run"]
    served = deployments.record("credit-risk")  # served by applicant_id: it looked the features up itself
    assert [c["name"] for c in served.inputs] == ["applicant_id"]
    looked_up = [f for v in served.extra["lookup"]["views"] for f in v["features"]]
    logged = deployments.request_log("credit-risk")
    assert len(logged) > 0 and logged[looked_up].isna().any().any(), "no row with a gap reached the model"
    assert logged["prediction"].notna().all() and {c for c in logged.columns if c.startswith("proba_")}
