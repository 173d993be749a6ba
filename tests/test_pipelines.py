"""`mlops-magics run`: real notebooks as a DAG with papermill, MLflow parent/child runs, failures."""

from __future__ import annotations

import json

import nbformat
import psutil
import pytest
from click.testing import CliRunner

from mlops_magics.cli import main
from mlops_magics.errors import UserInputError
from mlops_magics.pipelines import params as P
from mlops_magics.pipelines.spec import load

from pipeline_notebooks import executed_values, notebook, started_ended

SLEEPY = "import time\ntime.sleep(2)"


def kernels() -> list:
    return [p for p in psutil.Process().children(recursive=True) if "ipykernel" in " ".join(p.cmdline())]


def cli(*args):
    return CliRunner().invoke(main, [*args, "--no-progress"], catch_exceptions=False)


def runs_by_name(parent_id=None):
    from mlops_magics.tracking import client

    c = client()
    runs = c.search_runs([e.experiment_id for e in c.search_experiments()], max_results=1000)
    return {r.info.run_name: r for r in runs}


@pytest.fixture
def dag(tmp_path):
    """prep -> (left, right) -> join; left and right each sleep 2 s; right tracks a run."""
    nb = tmp_path / "nb"
    notebook(nb / "prep.ipynb", 'seed = 1\nlabel = "x"', 'print(f"{seed=}")\nprint(f"{label=}")')
    notebook(
        nb / "left.ipynb", "seed = 1\nalpha = 0.1", SLEEPY, 'print(f"{seed=}")\nprint(f"{alpha=}")', tag=False
    )  # a "# parameters" cell with no tag
    notebook(
        nb / "right.ipynb",
        "seed = 1",
        SLEEPY,
        "%load_ext mlops_magics",
        "%%track fit --metrics score\nscore = seed * 2.0",
        'print(f"{seed=}")',
    )
    notebook(nb / "join.ipynb", "label = 'y'", 'print(f"{label=}")')
    (nb / "pipeline.yaml").write_text(
        "name: tiny\nparameters:\n  seed: 3\nsteps:\n"
        "  prep: {notebook: prep.ipynb, parameters: {label: fixed}}\n"
        "  left: {notebook: left.ipynb, needs: [prep]}\n"
        "  right: {notebook: right.ipynb, needs: prep}\n"
        "  join: {notebook: join.ipynb, needs: [left, right]}\n"
    )
    return nb / "pipeline.yaml"


def test_dag_runs_in_parallel_with_parameters_outputs_and_nested_runs(dag):
    result = cli("run", str(dag), "--parallel", "2", "-p", "seed", "5", "-p", "left.alpha", "0.5")
    assert result.exit_code == 0, result.output
    folder = next((dag.parent.parent / ".mlops" / "pipelines").glob("tiny-*"))
    values = {s: executed_values(folder / f"{s}.ipynb") for s in ("prep", "left", "right", "join")}
    # pipeline-level seed reaches every step declaring it; step-fixed and STEP.NAME values stay put
    assert values["prep"] == {"seed": "5", "label": "'fixed'"}
    assert values["left"] == {"seed": "5", "alpha": "0.5"}
    assert values["right"]["seed"] == "5"
    assert values["join"] == {"label": "'y'"}  # the notebook's own default
    # the two branches overlapped in time; join started after both ended
    (l0, l1), (r0, r1), (j0, _) = (started_ended(folder / f"{s}.ipynb") for s in ("left", "right", "join"))
    assert l0 < r1 and r0 < l1
    assert j0 > max(l1, r1)
    runs = runs_by_name()
    parent = runs["tiny"]
    assert parent.info.status == "FINISHED" and parent.data.params["seed"] == "5"
    for step in ("prep", "left", "right", "join"):
        run = runs[step]
        assert run.info.status == "FINISHED"
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert run.data.tags["mlops_magics.pipeline_step"] == step
    from mlops_magics.tracking import client

    c = client()
    assert [a.path for a in c.list_artifacts(runs["left"].info.run_id)] == ["left.ipynb"]
    assert runs["left"].data.params == {"seed": "5", "alpha": "0.5"}
    # the notebook's own %%track run nests under its step; its metric is copied to the step run
    fit = runs["fit"]
    assert fit.data.tags["mlflow.parentRunId"] == runs["right"].info.run_id
    assert fit.data.tags["mlops_magics.pipeline_run"] == parent.info.run_id
    assert fit.data.tags["mlops_magics.notebook"] == str(dag.parent / "right.ipynb")
    assert runs["right"].data.metrics == {"fit.score": 10.0}
    assert fit.data.tags["mlops_magics.pipeline_step"] == "right"
    notebooks = [a.path for a in c.list_artifacts(parent.info.run_id, "notebooks")]
    assert notebooks == [f"notebooks/{s}.ipynb" for s in ("join", "left", "prep", "right")]
    from mlops_magics.lineage import lineage

    chain = lineage(f"run:{fit.info.run_id}").to_text()
    assert f"pipeline run={parent.info.run_id}" in chain and "pipeline step=right" in chain
    record = json.loads((folder / "record.json").read_text())
    assert record["steps"]["left"]["parameters"] == {"seed": 5, "alpha": 0.5}
    assert record["packages"]["papermill"] and len(record["steps"]["prep"]["notebook_sha256"]) == 64
    assert not kernels()


FAILURES = {
    "cell": ("1/0", "ZeroDivisionError: division by zero"),
    "magic": ("%load_ext mlops_magics\n%track --bogus", "UsageError: %track has no subcommand '--bogus'"),
    "kernel": ("%load_ext mlops_magics\n%track start doomed\nimport os\nos._exit(1)", "the kernel died"),
    "timeout": ("import time\ntime.sleep(60)", "a cell ran longer than the 3 s timeout"),
}


@pytest.mark.parametrize("kind", FAILURES)
def test_a_failing_step_fails_the_run_and_leaves_nothing_behind(tmp_path, kind):
    code, message = FAILURES[kind]
    notebook(tmp_path / "bad.ipynb", "n = 1", 'print("before")', code, 'print("after")')
    notebook(tmp_path / "ok.ipynb", "n = 1", 'print("fine")')
    (tmp_path / "p.yaml").write_text(
        "name: f\nsteps:\n  bad: bad.ipynb\n  after: {notebook: ok.ipynb, needs: [bad]}\n  other: ok.ipynb\n"
    )
    result = cli("run", str(tmp_path / "p.yaml"), "--timeout", "3" if kind == "timeout" else "120")
    assert result.exit_code == 1, result.output
    assert "step bad failed at cell In [3]" in result.output and message in result.output
    assert "step after skipped" in result.output
    folder = next((tmp_path / ".mlops" / "pipelines").glob("f-*"))
    partial = nbformat.read(folder / "bad.ipynb", as_version=4)
    assert any("before" in o.get("text", "") for c in partial.cells for o in c.get("outputs", []))
    assert not (folder / "after.ipynb").exists()
    runs = runs_by_name()
    assert (
        runs["f"].info.status == "FAILED" and "step bad failed" in runs["f"].data.tags["mlops_magics.error"]
    )
    assert runs["bad"].info.status == "FAILED" and runs["bad"].data.tags["mlops_magics.failed_cell"] == "3"
    assert runs["other"].info.status == "FINISHED" and "after" not in runs
    if kind == "kernel":  # the run the dead kernel left RUNNING is failed by the runner
        assert runs["doomed"].info.status == "FAILED"
    assert not [r for r in runs.values() if r.info.status == "RUNNING"]
    assert not kernels()


def test_reproduce_matches_then_reports_changed_data_and_code(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("v\n1\n2\n3\n")
    nb = notebook(tmp_path / "stats.ipynb", 'data_path = ""\nscale = 1.0', "%load_ext mlops_magics",
                  "%%track stats --metrics mean,rows\nimport pandas as pd\ndf = pd.read_csv(data_path)\n"
                  "mean = float(df.v.mean()) * scale\nrows = len(df)")  # fmt: skip
    first = cli("run", str(nb), "-p", "data_path", "data.csv", "-p", "scale", "2")
    assert first.exit_code == 0, first.output
    run_id = runs_by_name()["stats"].info.run_id  # the pipeline run is named after the notebook
    assert runs_by_name()["stats"].data.tags["mlops_magics.kind"] == "pipeline"
    record = json.loads(
        next((tmp_path / ".mlops" / "pipelines").glob("stats-*")).joinpath("record.json").read_text()
    )
    assert record["inputs"][str(data)]["parameter"] == "data_path"  # relative path resolved and fingerprinted

    same = cli("reproduce", run_id)
    assert same.exit_code == 0, same.output
    assert "REPRODUCED" in same.output and "code, data and packages as at the run" in same.output
    assert "stats.mean" in same.output
    assert "Downloading artifacts" not in same.output

    data.write_text("v\n1\n2\n30\n")
    changed = cli("reproduce", run_id)
    assert changed.exit_code == 1
    assert "DIFFERENT" in changed.output
    assert f"input {data} (parameter data_path) changed since the run" in changed.output
    assert "* stats  stats.mean" in changed.output  # the mismatching metric is marked, rows still match
    assert "stats.rows" in changed.output

    edited = nbformat.read(nb, as_version=4)
    edited.cells.append(nbformat.v4.new_code_cell('print("an edit")'))
    nbformat.write(edited, nb)
    code = cli("reproduce", run_id)
    assert code.exit_code == 1 and "notebook stats.ipynb (step stats) changed since the run" in code.output
    assert "the run logged no metrics" not in code.output


def test_parameters_are_checked_before_anything_runs(tmp_path, dag):
    nb = notebook(tmp_path / "t.ipynb", 'n = 1\nrate = 0.5\nname = "a"\nflag = False\nitems = [1]', "1/0")
    for args, message in [
        (
            ["-p", "n", "0.5"],
            "parameter n of t (t.ipynb) is int (default 1), not float 0.5: type e.g. -p n 1",
        ),
        (["-p", "flag", "yes"], "is bool (default False), not str 'yes'"),
        (["-p", "items", "3"], "is list (default [1]), not int 3"),
        (["-p", "nope", "1"], "no step declares a parameter nope (declared: flag, items, n, name, rate)"),
    ]:
        result = CliRunner().invoke(main, ["run", str(nb), *args])
        assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / ".mlops" / "pipelines").exists() or not list(
        (tmp_path / ".mlops" / "pipelines").iterdir()
    )
    result = CliRunner().invoke(main, ["run", str(dag), "-p", "left.nope", "1"])
    assert result.exit_code == 2 and "left.ipynb has no parameter nope" in result.output
    # ints widen to float, anything reads as a string for a str default
    assert P.coerce("rate", 1, 0.5, "t") == 1.0 and P.coerce("name", 12, "a", "t") == "12"


def test_pipeline_files_are_validated(tmp_path):
    notebook(tmp_path / "a.ipynb", "x = 1")
    for body, message in [
        (
            "steps:\n  a: {notebook: a.ipynb, needs: [b]}\n  b: {notebook: a.ipynb, needs: [a]}\n",
            "in a cycle",
        ),
        ("steps:\n  a: {notebook: a.ipynb, needs: [zz]}\n", "step a needs zz, which is not a step"),
        ("steps:\n  a: {notebook: missing.ipynb}\n", "no notebook at"),
        ("steps:\n  a: {notebook: a.ipynb, parameters: {y: 1}}\n", "step a: a.ipynb has no parameter y"),
        (
            "steps:\n  a: {notebook: a.ipynb, retries: 2}\n",
            r"p.yaml: steps.a: Additional properties are not allowed \(.retries. was unexpected\)",
        ),
        ("stages: []\n", "expected a mapping with 'steps:'"),
    ]:
        (tmp_path / "p.yaml").write_text(body)
        with pytest.raises(Exception, match=message):
            load(tmp_path / "p.yaml")


def test_mlops_run_magic_takes_the_cli_arguments(ip, tmp_path):
    nb = notebook(tmp_path / "t.ipynb", "n = 1", 'print(f"{n=}")')
    ip.run_line_magic("mlops", f"run {nb} -p n 4 --no-progress -o res")
    res = ip.user_ns["res"]
    assert res.ok and executed_values(res.step("t").output) == {"n": "4"}
    bad = notebook(tmp_path / "bad.ipynb", "n = 1", "1/0")
    from mlops_magics.errors import PipelineFailed

    with pytest.raises(PipelineFailed, match="step bad failed at cell In"):
        ip.run_line_magic("mlops", f"run {bad} --no-progress")
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match="--parallel"):
        ip.run_line_magic("mlops", f"run {nb} --parallel lots")


def test_step_kernels_get_the_settings_in_force(ip, tmp_path):
    """A setting changed with %config reaches the kernels of %mlops run (it used to be lost there)."""
    nb = notebook(tmp_path / "s.ipynb", "n = 1", "%load_ext mlops_magics\nfrom mlops_magics.config import get_config\n"
                  "c = get_config()\nprint(f'{c.online_store=}')\nprint(f'{c.drift_sample_rows=}')")  # fmt: skip
    ip.run_line_magic("config", "MLOps.online_store = 'redis://127.0.0.1:6390/2'")
    ip.run_line_magic("config", "MLOps.drift_sample_rows = 1234")
    res = ip.run_line_magic("mlops", f"run {nb} --no-progress")
    assert executed_values(res.step("s").output) == {
        "c.online_store": "'redis://127.0.0.1:6390/2'",
        "c.drift_sample_rows": "1234",
    }


def _printed(path, text: str) -> bool:
    """Whether a cell of the (partly executed) notebook has printed ``text`` (its source does not count)."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # caught half-written
        return False
    return any(text in o.get("text", "") for c in nb.cells for o in c.get("outputs", []))


INTERRUPTED = """
import sys
from mlops_magics.cli import main
sys.argv = ["mlops-magics", "run", sys.argv[1], "--parallel", "2", "--no-progress"]
main()
"""


def test_ctrl_c_stops_the_kernels_and_marks_the_runs(tmp_path):
    """Ctrl-C while two steps run: their kernels are stopped at once, nothing stays RUNNING."""
    import signal
    import subprocess
    import sys
    import time

    notebook(tmp_path / "slow.ipynb", "n = 1", 'print("started", flush=True)', "import time\ntime.sleep(120)")
    (tmp_path / "p.yaml").write_text(
        "name: slow\nsteps:\n  a: slow.ipynb\n  b: slow.ipynb\n  c: {notebook: slow.ipynb, needs: [a]}\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", INTERRUPTED, str(tmp_path / "p.yaml")], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    folder = tmp_path / ".mlops" / "pipelines"
    deadline = time.time() + 120
    while time.time() < deadline:  # both kernels are in the sleeping cell
        outs = list(folder.glob("slow-*/[ab].ipynb"))
        if len(outs) == 2 and all(_printed(p, "started") for p in outs):
            break
        time.sleep(0.5)
    kernels = [
        p for p in psutil.Process(proc.pid).children(recursive=True) if "ipykernel" in " ".join(p.cmdline())
    ]
    assert len(kernels) == 2
    started = time.time()
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert time.time() - started < 30, output  # not the 120 s the cells would sleep
    assert not [k for k in kernels if k.is_running() and k.status() != psutil.STATUS_ZOMBIE]
    runs = runs_by_name()
    assert runs["slow"].info.status == "KILLED"
    assert runs["a"].info.status == "FAILED" and runs["b"].info.status == "FAILED" and "c" not in runs


@pytest.mark.parametrize(
    "step, message",
    [
        ("{notebook: a.ipynb, gpu: lots}", "p.yaml: steps.a.gpu: 'lots' is not of type 'integer'"),
        (
            "{notebook: a.ipynb, needs: 5}",
            "p.yaml: steps.a.needs: 5: give a step name or a list of step names",
        ),
        (
            "{notebook: a.ipynb, parameters: [1, 2]}",
            "p.yaml: steps.a.parameters: [1, 2] is not of type 'object'",
        ),
        ("{notebook: 5}", "p.yaml: steps.a.notebook: 5 is not of type 'string'"),
        ("{notebook: a.ipynb, timeout: soon}", "p.yaml: steps.a.timeout: 'soon' is not of type 'number'"),
        (
            "{notebook: ../a.ipynb}",
            "p.yaml: steps.a.notebook: '../a.ipynb' lies outside the pipeline's folder",
        ),
        (
            "{notebook: a.ipynb, packages: pandas}",
            "p.yaml: steps.a.packages: 'pandas' is not of type 'array'",
        ),
    ],
)
def test_a_wrongly_typed_pipeline_file_is_one_line_before_anything_runs(tmp_path, step, message):
    """Issue #19: these were raw tracebacks (or, for timeout: soon, a failure of the step at run time)."""
    notebook(tmp_path / "a.ipynb", "x = 1")
    (tmp_path / "p" / "p.yaml").parent.mkdir()
    notebook(tmp_path / "p" / "a.ipynb", "x = 1")
    (tmp_path / "p" / "p.yaml").write_text(f"steps:\n  a: {step}\n")
    result = CliRunner().invoke(main, ["run", str(tmp_path / "p" / "p.yaml")])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {message}"), result.output
    assert not (tmp_path / ".mlops" / "pipelines").exists() or not list(
        (tmp_path / ".mlops" / "pipelines").iterdir()
    )


def test_a_pipeline_name_is_any_text_and_its_folder_stays_in_the_workspace(tmp_path):
    notebook(tmp_path / "a.ipynb", "x = 1")
    (tmp_path / "p.yaml").write_text("name: ../../x\nsteps:\n  a: a.ipynb\n")
    assert load(tmp_path / "p.yaml").name == "../../x"  # a display name; the run's folder takes a safe form
    (tmp_path / "p.yaml").write_text(f"name: {'x' * 101}\nsteps:\n  a: a.ipynb\n")
    with pytest.raises(UserInputError, match=r"p.yaml: name: 'xxx.* is too long"):
        load(tmp_path / "p.yaml")
