"""The same DAG compiled for Kubeflow Pipelines, loaded back by kfp, and run with kfp.local."""

from __future__ import annotations

import yaml
from click.testing import CliRunner

from mlops_magics.cli import main

from pipeline_notebooks import executed_values, notebook


def two_steps(tmp_path, extra: str = ""):
    notebook(tmp_path / "a.ipynb", 'x = 1\nname = "a"', 'print(f"{x=}")\nprint(f"{name=}")')
    notebook(tmp_path / "b.ipynb", "x = 1\nrate = 0.5", 'print(f"{x=}")\nprint(f"{rate=}")', tag=False)
    (tmp_path / "p.yaml").write_text(
        "name: two_steps\nparameters: {x: 4}\nsteps:\n  first: {notebook: a.ipynb, parameters: {name: fixed}}\n"
        f"  second: {{notebook: b.ipynb, needs: [first]{extra}}}\n"
    )
    return tmp_path / "p.yaml"


def test_compile_writes_ir_yaml_that_kfp_loads_back(tmp_path):
    from kfp import components

    out = tmp_path / "two.kfp.yaml"
    result = CliRunner().invoke(main, ["run", str(two_steps(tmp_path)), "--engine", "kfp", "--compile", str(out),
                                       "-p", "second.rate", "0.25", "--base-image", "registry.local/nb:1"])  # fmt: skip
    assert result.exit_code == 0, result.output
    loaded = components.load_component_from_file(str(out))
    assert loaded.name == "two-steps"
    spec = yaml.safe_load(out.read_text())
    assert spec["root"]["inputDefinitions"]["parameters"]["x"] == {
        "defaultValue": 4,
        "isOptional": True,
        "parameterType": "NUMBER_INTEGER",
    }
    tasks = spec["root"]["dag"]["tasks"]
    assert tasks["step-second"]["dependentTasks"] == ["step-first"]
    first = tasks["step-first"]["inputs"]["parameters"]
    assert first["x"] == {"componentInputParameter": "x"}  # the pipeline input flows to the step
    assert first["name"]["runtimeValue"]["constant"] == "fixed"
    assert tasks["step-second"]["inputs"]["parameters"]["rate"]["runtimeValue"]["constant"] == 0.25
    executors = spec["deploymentSpec"]["executors"]
    assert {e["container"]["image"] for e in executors.values()} == {"registry.local/nb:1"}
    command = " ".join(executors["exec-step-first"]["container"]["command"])
    assert "papermill==" in command and "pm.execute_notebook" in command
    assert "__KFP_EMBEDDED_ARCHIVE_B64" in command  # the notebook travels inside the component


def test_kfp_local_runs_a_two_step_pipeline(tmp_path):
    result = CliRunner().invoke(main, ["run", str(two_steps(tmp_path)), "--engine", "kfp-local", "-p", "x", "6"],
                                catch_exceptions=False)  # fmt: skip
    assert result.exit_code == 0, result.output
    folder = next((tmp_path / ".mlops" / "pipelines").glob("two_steps-kfp-*"))
    first = next(folder.glob("outputs/*/step-first/output_notebook"))
    second = next(folder.glob("outputs/*/step-second/output_notebook"))
    assert executed_values(first) == {"x": "6", "name": "'fixed'"}
    assert executed_values(second) == {"x": "6", "rate": "0.5"}
    assert "FINISHED" in result.output


def test_kfp_local_refuses_what_it_cannot_run_before_running(tmp_path):
    result = CliRunner().invoke(main, ["run", str(two_steps(tmp_path, ", gpu: 1")), "--engine", "kfp-local"])
    assert result.exit_code == 2
    assert "--engine kfp-local cannot run step second: it asks for 1 GPU(s)" in result.output
    assert not list(tmp_path.glob(".mlops/pipelines/*/outputs"))
    result = CliRunner().invoke(main, ["run", str(two_steps(tmp_path)), "--engine", "kfp"])
    assert result.exit_code == 2 and "needs --compile FILE.yaml or --host URL" in result.output


def test_compile_carries_a_steps_image_packages_and_gpus(tmp_path):
    out = tmp_path / "gpu.kfp.yaml"
    extra = ", gpu: 1, image: 'reg.local/train:2', packages: [xgboost==2.1.0]"
    result = CliRunner().invoke(
        main, ["run", str(two_steps(tmp_path, extra)), "--engine", "kfp", "--compile", str(out)]
    )
    assert result.exit_code == 0, result.output
    spec = yaml.safe_load(out.read_text())
    second = spec["deploymentSpec"]["executors"]["exec-step-second"]["container"]
    assert second["image"] == "reg.local/train:2"
    assert second["resources"]["accelerator"]["resourceCount"] == "1"
    assert "xgboost==2.1.0" in " ".join(second["command"])
    assert spec["deploymentSpec"]["executors"]["exec-step-first"]["container"]["image"] == "python:3.11"


class _FakeKfpApi:
    """The Kubeflow Pipelines REST API cannot run here (it needs a cluster): this stands in for the four
    calls ``kfp.Client`` makes to submit, and keeps what it was sent."""

    def __init__(self):
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        posted = self.posted = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, body):
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # healthz, experiment lookup: nothing there yet
                self._reply({})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                posted.append((self.path, body))
                self._reply(
                    {"experiment_id": "exp-1", "run_id": "run-42", "display_name": body.get("display_name")}
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_a_pipeline_input_takes_the_type_of_the_notebook_default(tmp_path):
    out = tmp_path / "typed.kfp.yaml"
    # rate is a float in b.ipynb: the JSON literal 1 must become a float input, not an int one
    result = CliRunner().invoke(main, ["run", str(two_steps(tmp_path)), "--engine", "kfp", "--compile", str(out),
                                       "-p", "rate", "1"])  # fmt: skip
    assert result.exit_code == 0, result.output
    spec = yaml.safe_load(out.read_text())
    rate = spec["root"]["inputDefinitions"]["parameters"]["rate"]
    assert rate["parameterType"] == "NUMBER_DOUBLE" and rate["defaultValue"] == 1.0
    assert spec["root"]["dag"]["tasks"]["step-second"]["inputs"]["parameters"]["rate"] == {
        "componentInputParameter": "rate"
    }


def test_host_submits_the_compiled_pipeline(tmp_path):
    api = _FakeKfpApi()
    out = tmp_path / "two.kfp.yaml"
    try:
        result = CliRunner().invoke(main, ["run", str(two_steps(tmp_path)), "--engine", "kfp", "--compile", str(out),
                                           "--host", api.url, "--experiment", "credit"])  # fmt: skip
    finally:
        api.server.shutdown()
    assert result.exit_code == 0, result.output
    assert f"submitted: run run-42 at {api.url}" in result.output
    (exp_path, exp), (run_path, run) = api.posted
    assert exp_path == "/apis/v2beta1/experiments" and exp["display_name"] == "credit"
    assert run_path == "/apis/v2beta1/runs" and run["experiment_id"] == "exp-1"
    assert run["pipeline_spec"] == yaml.safe_load(out.read_text())  # exactly what was compiled
    assert run["display_name"].startswith("two_steps ")


def test_an_unreachable_host_is_one_line_and_exit_code_1(tmp_path):
    from mlops_magics.servers import free_port

    result = CliRunner().invoke(main, ["run", str(two_steps(tmp_path)), "--engine", "kfp", "--compile",
                                       str(tmp_path / "x.yaml"), "--host", f"http://127.0.0.1:{free_port()}"])  # fmt: skip
    assert result.exit_code == 1
    assert "Error: kfp.Client(http://127.0.0.1:" in result.output and "Traceback" not in result.output
