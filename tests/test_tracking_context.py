"""Where a run came from: git, notebook path, cell, papermill parameters, packages."""

import json
import subprocess
import sys

import nbformat
import pytest

from mlops_magics.tracking import context


@pytest.fixture
def repo(tmp_path, git_repo):
    return tmp_path, git_repo


def test_git_commit_and_dirty_flag(repo):
    path, git = repo
    info = context.git_info(path)
    assert info == {"commit": git("rev-parse", "HEAD").strip(), "dirty": False}
    (path / "train.py").write_text("print(2)\n")
    dirty = context.git_info(path)
    assert dirty["dirty"] is True and len(dirty["diff_sha256"]) == 64


def test_outside_git_records_nothing(tmp_path):
    assert context.git_info(tmp_path) == {}


@pytest.mark.parametrize(
    "env, ns, expected",
    [
        ({"JPY_SESSION_NAME": "/w/nb/02_train.ipynb"}, {}, "/w/nb/02_train.ipynb"),
        ({}, {"__vsc_ipynb_file__": "/w/vsc.ipynb"}, "/w/vsc.ipynb"),
        ({"MLOPS_NOTEBOOK_PATH": "/w/p.ipynb", "JPY_SESSION_NAME": "/w/x.ipynb"}, {}, "/w/p.ipynb"),
        ({"JPY_SESSION_NAME": "a-console-session"}, {}, None),
        ({}, {}, None),
    ],
)
def test_notebook_path(monkeypatch, env, ns, expected):
    for var in ("JPY_SESSION_NAME", "MLOPS_NOTEBOOK_PATH"):
        monkeypatch.delenv(var, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert context.notebook_path(ns) == expected


def test_papermill_parameters_from_input_history():
    history = ["", "C = 1.0", '# Parameters\nC = 0.5\ndata_path = "x.csv"\nflags = [1, 2]\n', "fit()"]
    assert context.papermill_parameters({"In": history}) == {"C": 0.5, "data_path": "x.csv", "flags": [1, 2]}
    assert context.papermill_parameters({"In": ["C = 1"]}) is None


def test_track_records_lineage_tags(training_data, repo, monkeypatch):
    path, git = repo
    monkeypatch.setenv("JPY_SESSION_NAME", str(path / "02_train.ipynb"))
    ip = training_data
    cell = "z = 1"
    ip.run_cell_magic("track", "lineage -o res", cell)
    tags = ip.user_ns["res"].tags
    assert tags["mlops_magics.notebook"] == str(path / "02_train.ipynb")
    assert tags["mlflow.source.name"] == str(path / "02_train.ipynb")
    assert tags["mlops_magics.git_commit"] == git("rev-parse", "HEAD").strip()
    assert tags["mlops_magics.git_dirty"] == "false"  # .mlops/ is untracked, not a change
    assert tags["mlops_magics.cell_sha256"] == context.cell_sha256(cell)
    assert "scikit-learn==" in tags["mlops_magics.packages"]
    assert tags["mlops_magics.pid"] == str(__import__("os").getpid())


def test_papermill_run_records_its_parameters(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell("C = 1.0\nlabel = 'a'")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext mlops_magics"),
        params,
        nbformat.v4.new_code_cell("%%track pm -e papermill --params C -o res\nscore = C * 2"),
        nbformat.v4.new_code_cell("print(res.run_id)"),
    ]
    nbformat.write(nb, tmp_path / "in.ipynb")
    proc = subprocess.run(
        [sys.executable, "-m", "papermill", "in.ipynb", "out.ipynb", "-p", "C", "0.25", "-p", "label", "b",
         "-k", "python3"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = nbformat.read(tmp_path / "out.ipynb", 4)
    run_id = out.cells[-1].outputs[0]["text"].strip()
    from mlops_magics.tracking import get_run

    run = get_run(run_id)
    assert run.params == {"C": "0.25"}
    assert json.loads(run.tags["mlops_magics.papermill_parameters"]) == {"C": 0.25, "label": "b"}
    # the saved notebook carries the static card for places that run no widgets
    track_cell = next(c for c in out.cells if c.source.startswith("%%track"))
    card = next(o for o in track_cell.outputs if "text/html" in o.get("data", {}))
    assert not [o for o in track_cell.outputs if o.output_type == "stream"], (
        "backend log noise in the notebook"
    )
    assert "mlops-run" in card["data"]["text/html"]
