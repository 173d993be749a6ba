"""%deploy --target seldon|kserve --apply: the manifests created, then replaced, in a cluster through the
Kubernetes client. A Kubernetes API cannot run here, so a fake stands in for the four calls the client
makes (create, get, replace; 409 when it exists); it checks every body against the real CRD schema
(tests/schemas) and answers 422 as the API server would, so what it accepted a cluster would accept."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jsonschema
import pytest
import yaml
from IPython.core.error import UsageError

from test_deploy_manifests import schema_for

TOKEN = "k8s-token-9d2f-never-shown"


class FakeKubernetes:
    """/apis/GROUP/VERSION/namespaces/NS/PLURAL[/NAME] for POST, GET and PUT, keyed like the API server."""

    def __init__(self, forbid: bool = False):
        objects = self.objects = {}
        calls = self.calls = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _status(self, code, reason, message):
                self._reply(code, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason,
                                   "message": message, "code": code})  # fmt: skip

            def _handle(self, method):
                calls.append((method, self.path, self.headers.get("Authorization")))
                if self.headers.get("Authorization") != f"Bearer {TOKEN}" or forbid:
                    return self._status(403, "Forbidden", "forbidden: User cannot create resource")
                parts = self.path.split("?")[0].strip("/").split("/")  # apis g v namespaces ns plural [name]
                key = tuple(parts[1:6])
                body = None
                if method in ("POST", "PUT"):
                    body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                    try:
                        jsonschema.validate(body, schema_for(body["apiVersion"], body["kind"]))
                    except jsonschema.ValidationError as exc:
                        return self._status(422, "Invalid", f"{body['kind']} is invalid: {exc.message}")
                if method == "POST":
                    name = body["metadata"]["name"]
                    if (*key, name) in objects:
                        return self._status(409, "AlreadyExists", f"{name} already exists")
                    body["metadata"]["resourceVersion"] = "1"
                    objects[(*key, name)] = body
                    return self._reply(201, body)
                name = parts[6]
                if (*key, name) not in objects:
                    return self._status(404, "NotFound", f"{name} not found")
                if method == "GET":
                    return self._reply(200, objects[(*key, name)])
                old = objects[(*key, name)]["metadata"]["resourceVersion"]
                if body["metadata"].get("resourceVersion") != old:
                    return self._status(409, "Conflict", "the object has been modified")
                body["metadata"]["resourceVersion"] = str(int(old) + 1)
                objects[(*key, name)] = body
                return self._reply(200, body)

            def do_POST(self):
                self._handle("POST")

            def do_GET(self):
                self._handle("GET")

            def do_PUT(self):
                self._handle("PUT")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def kubeconfig(self, path, namespace="ml"):
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "test",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "ci", "user": {"token": TOKEN}}],
            "contexts": [{"name": "test", "context": {"cluster": "fake", "user": "ci", "namespace": namespace}}],
        }))  # fmt: skip
        return path


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    fake = FakeKubernetes()
    monkeypatch.setenv("KUBECONFIG", str(fake.kubeconfig(tmp_path / "kubeconfig")))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    yield fake
    fake.server.shutdown()


def test_apply_creates_then_replaces_in_the_contexts_namespace(registered, cluster, capsys):
    ip = registered
    line = ("models:/credit-risk@champion --name credit-risk --target seldon --storage-uri s3://b/credit-risk "
            "--canary challenger:10 --apply -o m")  # fmt: skip
    ip.run_line_magic("deploy", line)
    m = ip.user_ns["m"]
    assert m.applied == [
        ("Model", "credit-risk", "ml", "created"),
        ("Experiment", "credit-risk-canary", "ml", "created"),
    ]
    stored = cluster.objects[("mlops.seldon.io", "v1alpha1", "namespaces", "ml", "models", "credit-risk")]
    assert stored["spec"]["storageUri"] == "s3://b/credit-risk"
    assert stored["metadata"]["annotations"]["mlops-magics/run-id"] == ip.user_ns["run"].run_id
    # a new champion: applying again replaces, with the version the cluster holds
    ip.run_line_magic("deploy", line.replace("s3://b/credit-risk", "s3://b/credit-risk-v2"))
    assert [a[3] for a in ip.user_ns["m"].applied] == ["replaced", "replaced"]
    stored = cluster.objects[("mlops.seldon.io", "v1alpha1", "namespaces", "ml", "models", "credit-risk")]
    assert (
        stored["spec"]["storageUri"] == "s3://b/credit-risk-v2"
        and stored["metadata"]["resourceVersion"] == "2"
    )
    assert TOKEN not in capsys.readouterr().out + repr(ip.user_ns["m"].card().to_text())


def test_kserve_apply_to_a_given_namespace(registered, cluster):
    ip = registered
    ip.run_line_magic("deploy", "models:/credit-risk@champion --name credit-risk --target kserve "
                      "--storage-uri s3://b/cr --apply --namespace serving -o m")  # fmt: skip
    assert ip.user_ns["m"].applied == [("InferenceService", "credit-risk", "serving", "created")]
    assert ("serving.kserve.io", "v1beta1", "namespaces", "serving", "inferenceservices", "credit-risk") in (
        cluster.objects
    )


def test_without_a_cluster_or_permission_the_error_is_one_line(registered, tmp_path, monkeypatch):
    ip = registered
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    line = "models:/credit-risk@champion --name credit-risk --target seldon --storage-uri s3://b/cr --apply"
    with pytest.raises(UsageError, match="--apply needs a cluster: no usable Kubernetes configuration"):
        ip.run_line_magic("deploy", line)
    forbidden = FakeKubernetes(forbid=True)
    try:
        monkeypatch.setenv("KUBECONFIG", str(forbidden.kubeconfig(tmp_path / "kc")))
        with pytest.raises(
            UsageError, match="the cluster refused Model credit-risk in namespace ml: 403"
        ) as err:
            ip.run_line_magic("deploy", line)
    finally:
        forbidden.server.shutdown()
    assert "\n" not in str(err.value) and TOKEN not in str(err.value)
    assert (
        tmp_path / ".mlops" / "deployments" / "credit-risk" / "seldon.yaml"
    ).is_file()  # written all the same
    with pytest.raises(UsageError, match="--namespace goes with --apply"):
        ip.run_line_magic("deploy", line.replace("--apply", "--namespace x"))


def test_the_fake_refuses_what_the_crd_refuses(cluster):
    """The fake's check can fail: a Model without storageUri is a 422, which the API call reports."""
    from mlops_magics.errors import BackendError
    from mlops_magics.serving.apply import apply

    bad = {"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Model", "metadata": {"name": "x"},
           "spec": {"requirements": ["mlflow"]}}  # fmt: skip
    with pytest.raises(
        BackendError, match="422 Unprocessable Entity: Model is invalid: 'storageUri' is a required property"
    ):
        apply([bad])
    assert not cluster.objects
