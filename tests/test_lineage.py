"""The real loop in one workspace, then the chain walked back from the deployment (issue #9)."""

import json

import pandas as pd
import pytest
from click.testing import CliRunner
from IPython.core.error import UsageError

from mlops_magics.cli import main

from test_features import frame

TRAIN = """
from sklearn.linear_model import LogisticRegression
features = train[["age", "credit_amount"]]
label = (train["credit_amount"] > train["credit_amount"].median()).astype(int)
model = LogisticRegression().fit(features, label)
"""


@pytest.fixture
def repo(tmp_path, git_repo, monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / "02_train.ipynb"))
    return git_repo("rev-parse", "HEAD").strip()


def test_chain_from_drift_back_to_features_and_commit(ip, repo, tmp_path):
    from mlops_magics.serving import local

    ip.user_ns["applicants"] = frame(200)
    ip.run_cell_magic("feature", "applicant_profile --entity applicant_id --timestamp event_timestamp -o fv",
                      "applicants")  # fmt: skip
    fv = ip.user_ns["fv"]
    ip.user_ns["ents"] = pd.DataFrame(
        {"applicant_id": range(200), "event_timestamp": pd.Timestamp("2025-01-01", tz="UTC")}
    )
    ip.run_line_magic("feature", "get applicant_profile:age,credit_amount --entities ents -o train")
    ip.run_cell_magic("track", "lr -e lineage --model model --input features -o run", TRAIN)
    run = ip.user_ns["run"]
    ip.run_line_magic("track", "register last --name lineage-model --alias champion")
    ip.run_line_magic("deploy", "models:/lineage-model@champion --name lm")
    try:
        local.predict("lm", ip.user_ns["features"].head(60))
        ip.run_line_magic("drift", "run:last deployment:lm --save lm -o check")
        ip.run_line_magic("mlops", "lineage deployment:lm -o chain")
    finally:
        local.stop("lm")
    chain = ip.user_ns["chain"].to_dict()

    (view,) = chain["feature_view"]
    assert (view["id"], view["facts"]["version"], view["facts"]["fingerprint"], view["status"]) == \
        ("applicant_profile", "1", fv.fingerprint, "ok")  # fmt: skip
    (trained,) = chain["run"]
    assert trained["id"] == run.run_id
    assert trained["facts"]["git commit"] == repo and trained["facts"]["notebook"] == str(
        tmp_path / "02_train.ipynb"
    )
    assert trained["facts"]["cell sha256"] == run.tags["mlops_magics.cell_sha256"][:12]
    assert [(m["id"], m["facts"]["aliases"]) for m in chain["model_version"]] == [
        ("lineage-model v1", "@champion")
    ]
    (dep,) = chain["deployment"]
    assert dep["id"] == "lm" and dep["facts"]["model"] == "models:/lineage-model@champion"
    (drift,) = chain["drift_check"]
    assert (
        drift["facts"]["deployment"] == "lm" and drift["facts"]["report"] == ip.user_ns["check"].report_path
    )

    # the feature view is re-registered with changed data: the run's version is now outdated
    ip.user_ns["applicants"] = frame(200, shift=100.0)
    ip.run_cell_magic(
        "feature", "applicant_profile --entity applicant_id --timestamp event_timestamp", "applicants"
    )
    again = ip.run_line_magic("mlops", "lineage models:/lineage-model@champion")
    (view,) = again.of("feature_view")
    assert view.status == "outdated" and "now version 2" in view.note
    assert "outdated" in again._repr_mimebundle_()["text/html"] and "OUTDATED" in again.to_text()

    out = CliRunner().invoke(main, ["lineage", f"run:{run.run_id}", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["run"][0]["id"] == run.run_id


def test_deleted_run_is_shown_broken(ip):
    import mlflow

    ip.run_line_magic("track", "start gone")
    run = ip.run_line_magic("track", "end")
    mlflow.MlflowClient().delete_run(run.run_id)
    chain = ip.run_line_magic("mlops", f"lineage run:{run.run_id}")
    assert chain.of("run")[0].status == "broken"


@pytest.mark.parametrize("ref, message", [("credit-risk", "type models:/NAME@ALIAS"),
                                          ("deployment:nobody", "no deployment 'nobody'")])  # fmt: skip
def test_bad_refs(ip, ref, message):
    with pytest.raises(UsageError, match=message):
        ip.run_line_magic("mlops", f"lineage {ref}")


def test_a_node_counts_its_features_in_words():
    """The browser test's screenshot read "1 features"."""
    from mlops_magics.lineage import Chain, Node

    def page(features):
        return Chain("x", [Node("feature_view", "v", {"features": features})]).to_html()

    assert ">1 feature<" in page("age") and ">2 features<" in page("age, income")
