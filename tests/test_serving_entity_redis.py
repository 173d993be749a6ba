"""The entity endpoint over a real Redis server (its own module: it needs its own workspace and must not run
while test_serving_entity's module-scoped world, in the same shell, is alive)."""

from __future__ import annotations

import httpx
import numpy as np
import pandas as pd

from conftest import start_redis
from test_serving_entity import _expected, build


def test_redis_online_store_and_redis_down(shell, tmp_path):
    """The same endpoint over a real Redis server: the values match, and Redis down is a 503."""
    url, client, proc = start_redis(tmp_path / "redis")
    shell.run_line_magic("load_ext", "mlops_magics")
    shell.run_line_magic("config", f"MLOps.home = {str(tmp_path / '.mlops')!r}")
    try:
        build(shell, online_store=url)
        assert client.dbsize() > 0
        dep = shell.run_line_magic("deploy", "models:/entity@champion --name redis-id --entity applicant_id")
        shell.user_ns["ids"] = pd.DataFrame({"applicant_id": [2, 9, 13]})
        preds = shell.run_line_magic("deploy", "predict redis-id ids")
        np.testing.assert_allclose(
            preds[["proba_0", "proba_1"]].to_numpy(), _expected(shell, [2, 9, 13]), rtol=1e-9
        )
        proc.terminate()
        proc.wait(10)
        r = httpx.post(dep.infer_url, json={"inputs": [{"name": "applicant_id", "datatype": "INT64", "shape": [1],
                                                        "data": [2]}]}, timeout=60)  # fmt: skip
        assert r.status_code == 503 and "feature store did not answer" in r.json()["error"]
        assert httpx.get(f"{dep.url}/v2/health/live", timeout=10).status_code == 200  # the server stays up
    finally:
        proc.kill()
        shell.run_line_magic("deploy", "stop --all")
        shell.run_line_magic("unload_ext", "mlops_magics")
        shell.config.pop("MLOps", None)
