"""The same behaviours with a real Redis online store (redis-server from Debian, started here)."""

import shutil
import subprocess
import time

import pandas as pd
import pytest
from test_features import frame


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server is not installed: apt-get install redis-server (.ci/run does this)")
    from mlops_magics.servers import free_port

    port = free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path_factory.mktemp("redis"))],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 30
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)
    yield f"redis://127.0.0.1:{port}", client
    proc.terminate()
    proc.wait(10)


def test_redis_online_store_round_trip(ip, redis_url):
    url, client = redis_url
    client.flushall()
    ip.run_line_magic("config", f"MLOps.online_store = '{url}'")
    ip.user_ns["applicants"] = frame()
    ip.run_cell_magic(
        "feature", "applicant_profile --entity applicant_id --timestamp event_timestamp", "applicants"
    )
    assert client.dbsize() > 0, "nothing was materialized into Redis"
    online = ip.run_line_magic(
        "feature", "online applicant_profile:age,credit_amount --entity applicant_id=5,6"
    )
    src = ip.user_ns["applicants"].set_index("applicant_id")
    assert online["age"].tolist() == src.loc[[5, 6], "age"].tolist()
    assert online["credit_amount"].tolist() == pytest.approx(src.loc[[5, 6], "credit_amount"].tolist())
    ip.user_ns["ents"] = pd.DataFrame(
        {"applicant_id": [5], "event_timestamp": [pd.Timestamp("2024-06-01", tz="UTC")]}
    )
    train = ip.run_line_magic("feature", "get applicant_profile:age --entities ents")
    assert train["age"].tolist() == [25]
    status = ip.run_line_magic("mlops", "")
    assert "redis://" in status.backends["features"]


def test_redis_url_errors_are_one_line(ip):
    from IPython.core.error import UsageError

    ip.run_line_magic("config", "MLOps.online_store = 'memcached://x:1'")
    ip.user_ns["applicants"] = frame()
    with pytest.raises(UsageError, match="not supported; use empty \\(SQLite\\) or redis://HOST:PORT"):
        ip.run_cell_magic("feature", "v --entity applicant_id --timestamp event_timestamp", "applicants")
