import json
import multiprocessing as mp

from mlops_magics.workspace import Workspace, init


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
