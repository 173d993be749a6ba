import json
import multiprocessing as mp
import re
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from mlops_magics.errors import UserInputError
from mlops_magics.workspace import Workspace, check_name, init


def test_init_creates_layout_and_is_idempotent(tmp_path):
    ws = init(tmp_path / "ws")
    for d in (
        ws.artifacts_dir,
        ws.feast_data_dir,
        ws.deployments_dir,
        ws.monitoring_dir,
        ws.pipelines_dir,
        ws.envs_dir,
    ):
        assert d.is_dir(), d
    created = ws.read_meta()["created"]
    (ws.deployments_dir / "keep.txt").write_text("user data")
    again = init(tmp_path / "ws")
    assert again.read_meta()["created"] == created
    assert (ws.deployments_dir / "keep.txt").read_text() == "user data"
    assert ws.tracking_uri == f"sqlite:///{ws.mlflow_db}"


def _create(root, barrier):
    barrier.wait()
    Workspace(root).ensure()


def test_concurrent_creation_is_safe(tmp_path):
    root = tmp_path / "racy"
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(4)
    procs = [ctx.Process(target=_create, args=(root, barrier)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    meta = json.loads((root / "workspace.json").read_text())
    assert meta["layout_version"] == 1
    assert not list(root.glob(".workspace.json.*")), "temporary files left behind"


# -- issue #19: every name that becomes a path is checked in one place ---------------------------------------
BAD_NAMES = ["../../x", "a/b", "..", ".hidden", "", "x" * 101, "x" * 5000, "a\x00b", "日本", 5]


@pytest.mark.parametrize("name", BAD_NAMES, ids=lambda n: repr(n)[:20])
def test_check_name_refuses_what_could_leave_the_workspace(name):
    with pytest.raises(UserInputError) as info:
        check_name(name, "--save")
    assert "\n" not in str(info.value) and len(str(info.value)) < 200
    with pytest.raises(UserInputError, match="deployment name"):
        Workspace(Path("/nowhere")).deployment_dir(name)


def test_a_pipeline_run_folder_stays_in_the_workspace(tmp_path):
    ws = Workspace(tmp_path / "ws")
    for name in ("../../x", "Two Steps", "a/b", "x" * 300, "日本", "..", "", "credit-risk"):
        folder = ws.pipeline_run_dir(name, "kfp")
        assert folder.parent == ws.pipelines_dir and ".." not in folder.name and len(folder.name) <= 100
    assert ws.pipeline_run_dir("credit-risk").name.startswith("credit-risk-")


def test_check_name_keeps_good_names():
    for name in ("credit-risk", "v1.2", "A_b-3", "x" * 100):
        assert check_name(name, "--save") == name


@pytest.mark.parametrize(
    "magic, line, cell, message",
    [
        ("deploy", "status ../../x", None, "deployment name '../../x'"),
        ("deploy", "logs " + "x" * 5000, None, "deployment name 'xxxx"),  # was OSError: File name too long
        ("drift", "history ../../evil", None, "--save '../../evil'"),
        ("mlops", "lineage deployment:../x", None, "deployment name '../x'"),
        ("feature", "v" * 300 + " --entity id --timestamp ts", "ran = True", "feature view name 'vvvv"),
    ],
)
def test_names_are_refused_in_one_line_before_anything_runs(ip, tmp_path, magic, line, cell, message):
    before = sorted(tmp_path.parent.iterdir())
    with pytest.raises(UsageError, match=re.escape(message)) as info:
        ip.run_line_magic(magic, line) if cell is None else ip.run_cell_magic(magic, line, cell)
    assert type(info.value) is UsageError and "\n" not in str(info.value)
    assert "ran" not in ip.user_ns and sorted(tmp_path.parent.iterdir()) == before


def test_init_of_a_file_is_one_line(ip, tmp_path):
    (tmp_path / "existing.txt").write_text("mine")
    for path, message in [
        ("existing.txt", "workspace folder 'existing.txt' is a file; give a folder"),  # was FileExistsError
        ("existing.txt/ws", f"is under {tmp_path / 'existing.txt'}, which is a file"),
        ("x" * 300, "a folder name is at most 255 bytes long"),
    ]:
        with pytest.raises(UsageError, match=re.escape(message)) as info:
            ip.run_line_magic("mlops", f"init {path}")
        assert type(info.value) is UsageError and "\n" not in str(info.value)
    assert (tmp_path / "existing.txt").read_text() == "mine"
    with pytest.raises(UserInputError, match="cannot create the workspace at /proc/ws"):
        init("/proc/ws")  # a folder nobody may create
