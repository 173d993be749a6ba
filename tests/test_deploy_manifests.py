"""%deploy --target seldon|kserve: manifests validated against the real CRD schemas in tests/schemas."""

import functools

import jsonschema
import pytest
import yaml
from IPython.core.error import UsageError

from conftest import ROOT

SCHEMAS = ROOT / "tests" / "schemas"
CRDS = {
    ("mlops.seldon.io/v1alpha1", "Model"): "seldon-core-v2.models.crd.yaml",
    ("mlops.seldon.io/v1alpha1", "Experiment"): "seldon-core-v2.experiments.crd.yaml",
    ("mlops.seldon.io/v1alpha1", "Pipeline"): "seldon-core-v2.pipelines.crd.yaml",
    ("serving.kserve.io/v1beta1", "InferenceService"): "kserve.inferenceservices.crd.yaml",
}


@functools.cache
def schema_for(api_version: str, kind: str) -> dict:
    crd = yaml.safe_load((SCHEMAS / CRDS[(api_version, kind)]).read_text())
    version = api_version.split("/")[1]
    assert crd["spec"]["names"]["kind"] == kind
    return next(v for v in crd["spec"]["versions"] if v["name"] == version)["schema"]["openAPIV3Schema"]


def validate(doc: dict) -> None:
    jsonschema.validate(doc, schema_for(doc["apiVersion"], doc["kind"]))


def test_the_validator_rejects_what_a_cluster_would():
    """The check itself can fail: a Model without storageUri, a candidate without weight."""
    with pytest.raises(jsonschema.ValidationError, match="storageUri"):
        validate({"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Model", "metadata": {"name": "x"},
                  "spec": {"requirements": ["mlflow"]}})  # fmt: skip
    with pytest.raises(jsonschema.ValidationError, match="weight"):
        validate({"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Experiment", "metadata": {"name": "x"},
                  "spec": {"candidates": [{"name": "a"}]}})  # fmt: skip


def test_seldon_model_and_canary_experiment(registered, tmp_path):
    ip = registered
    ip.run_line_magic("deploy", "models:/credit-risk@champion --name credit-risk --target seldon "
                      "--storage-uri s3://bucket/credit-risk --canary challenger:10 --min-replicas 1 --max-replicas 3 -o m")  # fmt: skip
    m = ip.user_ns["m"]
    for doc in m.documents:
        validate(doc)
    model, experiment = m.documents
    assert model["spec"]["storageUri"] == "s3://bucket/credit-risk"
    assert model["spec"]["requirements"] == ["mlflow"]
    assert model["metadata"]["annotations"]["mlops-magics/run-id"] == ip.user_ns["run"].run_id
    assert model["metadata"]["annotations"]["mlops-magics/registered-model"] == "credit-risk/1"
    assert experiment["spec"]["candidates"] == [
        {"name": "credit-risk", "weight": 90},
        {"name": "challenger", "weight": 10},
    ]
    written = list(
        yaml.safe_load_all((tmp_path / ".mlops" / "deployments" / "credit-risk" / "seldon.yaml").read_text())
    )
    assert written == m.documents
    assert "kubectl apply -f" in m.card().to_text()


def test_kserve_inference_service(registered):
    ip = registered
    ip.run_line_magic("deploy", "models:/credit-risk/1 --name credit-risk --target kserve "
                      "--storage-uri gs://bucket/credit-risk --canary 20 -o m")  # fmt: skip
    (doc,) = ip.user_ns["m"].documents
    validate(doc)
    model = doc["spec"]["predictor"]["model"]
    assert model == {
        "modelFormat": {"name": "mlflow"},
        "protocolVersion": "v2",
        "storageUri": "gs://bucket/credit-risk",
    }
    assert doc["spec"]["predictor"]["canaryTrafficPercent"] == 20
    assert "kind: InferenceService" in ip.user_ns["m"].yaml


@pytest.mark.parametrize(
    "line, message",
    [
        (
            "models:/credit-risk@champion --name Credit_Risk --target seldon --storage-uri s3://b/c",
            "not a valid Kubernetes name",
        ),
        ("models:/credit-risk@champion --name cr --target seldon", "needs --storage-uri"),
        (
            "models:/credit-risk@champion --name cr --target seldon --storage-uri /local/path",
            "type a URI the cluster can read",
        ),
        ("models:/credit-risk@nobody --name cr --target kserve --storage-uri s3://b/c", "not found"),
        ("credit-risk --name cr --target kserve --storage-uri s3://b/c", "neither a model URI"),
        ("s3://bucket/model --name cr --target kserve --storage-uri s3://b/c", "is not a model URI"),
        (
            "models:/credit-risk@champion --name cr --target seldon --storage-uri s3://b/c --canary 10",
            "other model's name",
        ),
        (
            "models:/credit-risk@champion --name cr --target seldon --storage-uri s3://b/c --canary x:100",
            "between 1 and 99",
        ),
        ("models:/credit-risk@champion --target seldon --storage-uri s3://b/c", "needs --name"),
        ("models:/credit-risk@champion --name cr --target gke", "invalid choice"),
    ],
)
def test_bad_input(registered, line, message):
    with pytest.raises(UsageError, match=message) as info:
        registered.run_line_magic("deploy", line)
    assert type(info.value) is UsageError and "\n" not in str(info.value)


def test_kserve_takes_replicas_and_refuses_a_canary_model_name(registered):
    """--replicas and a canary model name used to be dropped silently for KServe."""
    ip = registered
    m = ip.run_line_magic(
        "deploy", "models:/credit-risk/1 --name cr --target kserve --storage-uri s3://b/c --replicas 3"
    )
    validate(m.documents[0])
    predictor = m.documents[0]["spec"]["predictor"]
    assert predictor["minReplicas"] == 3 and predictor["maxReplicas"] == 3
    with pytest.raises(UsageError, match=r"type the percent only, e\.g\. --canary 10"):
        ip.run_line_magic("deploy", "models:/credit-risk/1 --name cr --target kserve --storage-uri s3://b/c "
                          "--canary challenger:10")  # fmt: skip
    seldon = ip.run_line_magic(
        "deploy", "models:/credit-risk/1 --name cr --target seldon --storage-uri s3://b/c --replicas 2"
    )
    validate(seldon.documents[0])
    assert seldon.documents[0]["spec"]["replicas"] == 2
    with pytest.raises(
        UsageError, match="--port does not apply to --target seldon; it is for --target local"
    ):
        ip.run_line_magic(
            "deploy", "models:/credit-risk/1 --name cr --target seldon --storage-uri s3://b/c --port 9000"
        )
