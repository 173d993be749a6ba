"""Entity id in, decision out: an endpoint that reads its own features from the online store (Feast's
SDK in the serving process), on the embedded SQLite store and on a real Redis server."""

from __future__ import annotations

import httpx
import numpy as np
import pandas as pd
import pytest
from IPython.core.error import UsageError

from test_deploy_manifests import validate

TRAIN = """
from mlops_magics.features import model_frame
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
X = model_frame(training, drop=["applicant_id", "event_timestamp", "bad"])
prep = ColumnTransformer([("num", SimpleImputer(), ["age", "income"]),
                          ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="?"),
                                                OneHotEncoder(handle_unknown="ignore")), ["city"])])
model = make_pipeline(prep, LogisticRegression(max_iter=500)).fit(X, training["bad"])
"""


def applicants(n=200, seed=0, shift=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"applicant_id": np.arange(n), "event_timestamp": pd.Timestamp("2024-01-01"),
                       "age": rng.integers(18, 80, n) + shift, "income": rng.normal(50, 15, n),
                       "city": rng.choice(["paris", "lyon"], n).astype(object)})  # fmt: skip
    df.loc[df.index % 9 == 0, "income"] = np.nan
    df.loc[df.index % 13 == 0, "city"] = None
    return df


def build(shell, online_store: str = ""):
    """Views, a model trained on them through %feature get, registered as entity@champion."""
    if online_store:
        shell.run_line_magic("config", f"MLOps.online_store = {online_store!r}")
    df = applicants()
    shell.user_ns.update(df=df, outcome=df[["applicant_id", "event_timestamp"]].assign(bad=(df.age > 50).astype(int)),
                         ents=df[["applicant_id"]].assign(event_timestamp=pd.Timestamp("2024-06-01", tz="UTC")))  # fmt: skip
    shell.run_cell_magic("feature", "profile --entity applicant_id --timestamp event_timestamp", "df")
    shell.run_cell_magic("feature", "outcome --entity applicant_id --timestamp event_timestamp", "outcome")
    shell.run_line_magic("feature", "get profile outcome --entities ents -o training")
    shell.run_cell_magic("track", "entity-model --model model", TRAIN)
    shell.run_line_magic("track", "register last --name entity --alias champion")


@pytest.fixture(scope="module")
def world(shell, tmp_path_factory):
    home = tmp_path_factory.mktemp("entity") / ".mlops"
    shell.run_line_magic("load_ext", "mlops_magics")
    shell.run_line_magic("config", f"MLOps.home = {str(home)!r}")
    build(shell)
    dep = shell.run_line_magic("deploy", "models:/entity@champion --name by-id --entity applicant_id")
    yield shell, dep, home
    shell.run_line_magic("deploy", "stop --all")
    shell.run_line_magic("unload_ext", "mlops_magics")
    shell.config.pop("MLOps", None)


def _expected(shell, ids):
    """The model applied to %feature online for the same ids: what the endpoint must answer."""
    from mlops_magics.features import model_frame

    online = shell.run_line_magic(
        "feature", f"online profile:age,income,city --entity applicant_id={','.join(map(str, ids))}"
    )
    return shell.user_ns["model"].predict_proba(
        model_frame(online, drop=["applicant_id"])[["age", "income", "city"]]
    )


def test_predictions_by_id_equal_the_model_on_online_features(world):
    shell, dep, _ = world
    assert [c["name"] for c in dep.inputs] == ["applicant_id"]
    assert "looks up" in dep.card().to_text() and "profile v1 (3 features)" in dep.card().to_text()
    ids = [1, 9, 13, 40]  # gaps in income (9) and city (13)
    shell.user_ns["ids"] = pd.DataFrame({"applicant_id": ids})
    preds = shell.run_line_magic("deploy", "predict by-id ids")
    np.testing.assert_allclose(preds[["proba_0", "proba_1"]].to_numpy(), _expected(shell, ids), rtol=1e-9)
    body = {"inputs": [{"name": "applicant_id", "datatype": "INT64", "shape": [2], "data": [17, 42]}]}
    r = httpx.post(dep.infer_url, json=body, timeout=30)  # curl's view: ids in, decision out
    assert r.status_code == 200 and {o["name"] for o in r.json()["outputs"]} == {
        "prediction",
        "proba_0",
        "proba_1",
    }
    meta = httpx.get(f"{dep.url}/v2/models/by-id", timeout=10).json()
    assert [i["name"] for i in meta["inputs"]] == ["applicant_id"]


def test_the_request_log_holds_ids_served_features_and_prediction(world):
    shell, _, _ = world
    from mlops_magics.serving import deployments

    shell.user_ns["ids"] = pd.DataFrame({"applicant_id": list(range(60))})
    shell.run_line_magic("deploy", "predict by-id ids")
    logged = deployments.request_log("by-id")
    assert {"applicant_id", "age", "income", "city", "prediction"} <= set(logged.columns)
    src = shell.user_ns["df"].set_index("applicant_id")
    tail = logged.tail(60).set_index("applicant_id")
    assert tail["age"].tolist() == src.loc[tail.index, "age"].tolist()  # the values the store served
    # drift between what the model trained on and what production served
    r = shell.run_line_magic("drift", f"run:{shell.run_line_magic('track', 'show entity-model').run_id} deployment:by-id "
                             "--columns age,income,city")  # fmt: skip
    assert r.current_rows >= 60 and [c.column for c in r.columns] == ["age", "income", "city"]


def test_a_changed_feature_is_served_on_the_next_request(world):
    shell, dep, _ = world
    shell.user_ns["ids"] = pd.DataFrame({"applicant_id": [5]})
    before = shell.run_line_magic("deploy", "predict by-id ids")["proba_1"].iloc[0]
    changed = shell.user_ns["df"].copy()
    changed.loc[changed.applicant_id == 5, "age"] = 18 if changed.loc[5, "age"] > 50 else 79
    shell.user_ns["changed"] = changed
    shell.run_cell_magic(
        "feature", "profile --entity applicant_id --timestamp event_timestamp", "changed"
    )  # v2
    after = shell.run_line_magic("deploy", "predict by-id ids")["proba_1"].iloc[0]
    assert after != pytest.approx(before)
    np.testing.assert_allclose(after, _expected(shell, [5])[0, 1], rtol=1e-9)
    logged = httpx.post(dep.infer_url, json={"inputs": [{"name": "applicant_id", "datatype": "INT64", "shape": [1],
                                                         "data": [5]}]}, timeout=30)  # fmt: skip
    assert logged.status_code == 200
    import json
    from pathlib import Path

    from mlops_magics.serving import deployments

    last = json.loads(Path(deployments.record("by-id").request_log).read_text().splitlines()[-1])
    assert last["views"] == {"profile": "2"}  # the view version the served values belong to
    # a newer view than the model was trained on: said on the card of a new deployment
    newer = shell.run_line_magic("deploy", "models:/entity@champion --name by-id-v2 --entity applicant_id")
    try:
        assert (
            "warning: feature view profile is now version 2; the model was trained on version 1"
            in newer.card().to_text()
        )
    finally:
        shell.run_line_magic("deploy", "stop by-id-v2")


def test_unknown_ids_are_a_404_or_nulls_when_asked(world):
    shell, dep, _ = world
    body = {"inputs": [{"name": "applicant_id", "datatype": "INT64", "shape": [3], "data": [1, 9999, 12345]}]}
    r = httpx.post(dep.infer_url, json=body, timeout=30)
    assert r.status_code == 404 and "9999, 12345" in r.json()["error"]
    shell.user_ns["ids"] = pd.DataFrame({"applicant_id": [9999]})
    with pytest.raises(UsageError, match="refused the request \\(HTTP 404\\): unknown applicant_id: 9999"):
        shell.run_line_magic("deploy", "predict by-id ids")
    nulls = shell.run_line_magic(
        "deploy", "models:/entity@champion --name by-id-null --entity applicant_id --missing null"
    )
    try:
        r = httpx.post(nulls.infer_url, json=body, timeout=30)
        assert r.status_code == 200 and len(r.json()["outputs"][0]["data"]) == 3  # the model imputes the gaps
    finally:
        shell.run_line_magic("deploy", "stop by-id-null")


def test_the_store_gone_is_a_503_and_the_server_stays_up(world):
    import sqlite3

    _shell, dep, home = world
    db = home / "feast" / "online.db"
    table = next(t for (t,) in sqlite3.connect(db).execute("SELECT name FROM sqlite_master WHERE type='table'")
                 if t.endswith("profile"))  # fmt: skip
    with sqlite3.connect(db) as con:  # the store's table is gone: what a broken store looks like
        con.execute(f"ALTER TABLE {table} RENAME TO away")
    body = {"inputs": [{"name": "applicant_id", "datatype": "INT64", "shape": [1], "data": [3]}]}
    try:
        r = httpx.post(dep.infer_url, json=body, timeout=30)
        assert r.status_code == 503 and "the feature store did not answer" in r.json()["error"]
    finally:
        with sqlite3.connect(db) as con:
            con.execute(f"ALTER TABLE away RENAME TO {table}")
    assert httpx.post(dep.infer_url, json=body, timeout=30).status_code == 200  # it stayed up


def test_bad_lookups_are_refused_before_anything_starts(world):
    shell, _, _ = world
    for line, message in (
        ("--entity customer_id", "'customer_id' is not the key of profile"),
        ("--entity applicant_id --features outcome", "the model's input\\(s\\) age, income, city are not features of outcome"),
        ("--entity applicant_id --missing maybe", "invalid choice"),
        ("--features profile", "--features goes with --entity"),
    ):  # fmt: skip
        with pytest.raises(UsageError, match=message):
            shell.run_line_magic("deploy", f"models:/entity@champion --name nope {line}")


def test_manifests_by_entity_validate_against_the_crds(world):
    shell, _, home = world
    m = shell.run_line_magic("deploy", "models:/entity@champion --name credit --target seldon --storage-uri s3://b/credit "
                             "--entity applicant_id")  # fmt: skip
    kinds = [(d["kind"], d["metadata"]["name"]) for d in m.documents]
    assert kinds == [("Model", "credit"), ("Model", "credit-lookup"), ("Pipeline", "credit-by-applicant-id")]
    for doc in m.documents:
        validate(doc)
    pipeline = m.documents[2]["spec"]
    assert pipeline["steps"] == [{"name": "credit-lookup"}, {"name": "credit", "inputs": ["credit-lookup"]}]
    lookup = home / "deployments" / "credit" / "lookup"
    assert {p.name for p in lookup.iterdir()} >= {
        "model-settings.json",
        "feature_store.yaml",
        "mlops_magics_entity.py",
    }
    k = shell.run_line_magic("deploy", "models:/entity@champion --name credit --target kserve --storage-uri s3://b/credit "
                             "--entity applicant_id")  # fmt: skip
    validate(k.documents[0])
    args = k.documents[0]["spec"]["transformer"]["containers"][0]["args"]
    assert args[args.index("--entity_ids") + 1] == "applicant_id" and "profile:age" in args
