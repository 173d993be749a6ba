"""The same behaviours with a real Redis online store (redis-server from Debian, started here)."""

import pandas as pd
import pytest

from test_features import frame


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
