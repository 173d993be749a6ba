"""%%feature and %feature on a real Feast repo in a temporary workspace."""

import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
from IPython.core.error import UsageError

N = 40


def frame(n=N, shift=0.0):
    ts = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(n), unit="D")
    return pd.DataFrame({
        "applicant_id": np.arange(n),
        "event_timestamp": ts,
        "age": np.arange(n) + 20,
        "credit_amount": np.linspace(100, 5000, n) + shift,
        "purpose": pd.Categorical(np.where(np.arange(n) % 2, "car", "tv")),
    })  # fmt: skip


@pytest.fixture
def fip(ip):
    ip.user_ns["applicants"] = frame()
    # applicant 7 changes over time: two rows, a month apart
    later = frame().iloc[[7]].assign(event_timestamp=pd.Timestamp("2024-03-15"), credit_amount=99999.0)
    ip.user_ns["history"] = pd.concat([frame(), later], ignore_index=True)
    return ip


def register(ip, source="applicants", extra=""):
    ip.run_cell_magic(
        "feature",
        f"applicant_profile --entity applicant_id --timestamp event_timestamp {extra} -o fv",
        source,
    )
    return ip.user_ns["fv"]


def test_register_frame_shows_card_and_serves_online(fip):
    fv = register(fip)
    assert fv.applied and fv.rows == N and fv.entities == N and fv.version == 1
    assert fv.schema == {"age": "Int64", "credit_amount": "Float64", "purpose": "String"}
    assert (
        "applicant_profile" in fv.card().to_text()
        and "+ FeatureView applicant_profile" in fv.card().to_text()
    )
    assert "mlops-feature-view" in fv._repr_mimebundle_()["text/html"]
    online = fip.run_line_magic("feature", "online applicant_profile:age,purpose --entity applicant_id=3,8")
    src = fip.user_ns["applicants"].set_index("applicant_id")
    assert online["age"].tolist() == src.loc[[3, 8], "age"].tolist()
    assert online["purpose"].tolist() == [str(v) for v in src.loc[[3, 8], "purpose"]]


def test_historical_retrieval_is_point_in_time(fip):
    register(fip, "history")
    fip.user_ns["ents"] = pd.DataFrame({
        "applicant_id": [7, 7, 12],
        "event_timestamp": pd.to_datetime(["2024-02-01", "2024-04-01", "2024-02-01"], utc=True),
    })  # fmt: skip
    fip.run_line_magic("feature", "get applicant_profile:credit_amount,age --entities ents -o train")
    train = fip.user_ns["train"].sort_values(["applicant_id", "event_timestamp"]).reset_index(drop=True)
    src = fip.user_ns["applicants"].set_index("applicant_id")
    assert train["credit_amount"].tolist() == pytest.approx([src.loc[7, "credit_amount"], 99999.0,
                                                             src.loc[12, "credit_amount"]])  # fmt: skip
    assert train["age"].tolist() == [27, 27, 32]
    # online holds the latest value of applicant 7
    online = fip.run_line_magic("feature", "online applicant_profile:credit_amount --entity applicant_id=7")
    assert online["credit_amount"].tolist() == [99999.0]


def test_plan_writes_nothing_and_changes_make_a_new_version(fip, tmp_path):
    register(fip)
    data_dir = tmp_path / ".mlops" / "feast" / "data" / "applicant_profile"
    files = sorted(data_dir.iterdir())
    fip.user_ns["changed"] = frame(shift=1.0).assign(income=1.0)
    plan = register(fip, "changed", "--plan")
    assert not plan.applied and plan.version == 2
    assert plan.plan.fields_added == {"applicant_profile": ["income"]}
    assert "applicant_profile" in plan.plan.data_changed
    assert sorted(data_dir.iterdir()) == files, "--plan wrote data"
    assert fip.run_line_magic("feature", "show applicant_profile").version == 1
    applied = register(fip, "changed")
    assert applied.version == 2 and len(list(data_dir.iterdir())) == 2
    assert applied.fingerprint != plan.plan.data_changed["applicant_profile"].split(" -> ")[0]
    same = register(fip, "changed")
    assert same.version == 2 and same.plan.unchanged == [
        "Entity applicant_id",
        "FeatureView applicant_profile",
    ]


DEFINITIONS = """
from datetime import timedelta
from feast import Entity, FeatureService, FeatureView, Field, FileSource
from feast.types import Float64, Int64
applicant = Entity(name="applicant_id", join_keys=["applicant_id"])
source = FileSource(name="amounts_src", path=PATH, timestamp_field="event_timestamp")
amounts = FeatureView(name="amounts", entities=[applicant], ttl=timedelta(days=365),
                      schema=[Field(name="credit_amount", dtype=Float64), Field(name="age", dtype=Int64)],
                      source=source)
scoring = FeatureService(name="scoring", features=[amounts])
"""


def test_definitions_mode_plans_then_applies(fip, tmp_path):
    path = tmp_path / "amounts.parquet"
    fip.user_ns["applicants"].drop(columns=["purpose"]).assign(
        event_timestamp=lambda d: d.event_timestamp.dt.tz_localize("UTC")
    ).to_parquet(path)
    fip.user_ns["PATH"] = str(path)
    plan = fip.run_cell_magic("feature", "--apply --plan -o p", DEFINITIONS) or fip.user_ns["p"]
    assert not plan.applied
    assert set(plan.added) == {"Entity applicant_id", "FeatureView amounts", "FeatureService scoring",
                               "DataSource amounts_src"}  # fmt: skip
    assert len(fip.run_line_magic("feature", "list")) == 0
    fip.run_cell_magic("feature", "--apply -o p", DEFINITIONS)
    assert fip.user_ns["p"].applied
    assert [v.name for v in fip.run_line_magic("feature", "list").views] == ["amounts"]
    fip.run_line_magic("feature", "materialize --since 2023-12-01")
    online = fip.run_line_magic("feature", "online amounts:credit_amount --entity applicant_id=5")
    assert online["credit_amount"].tolist() == pytest.approx([fip.user_ns["applicants"].credit_amount[5]])
    again = fip.run_cell_magic("feature", "--apply -o p", DEFINITIONS) or fip.user_ns["p"]
    assert not again.added and not again.changed


def test_delete_is_explicit(fip):
    register(fip)
    fip.user_ns["other"] = frame().rename(columns={"age": "years"})
    fip.run_cell_magic("feature", "other_view --entity applicant_id --timestamp event_timestamp", "other")
    fip.run_line_magic("feature", "delete applicant_profile")
    assert [v.name for v in fip.run_line_magic("feature", "list").views] == ["other_view"]
    with pytest.raises(UsageError, match="no feature view 'applicant_profile'"):
        fip.run_line_magic("feature", "online applicant_profile:age --entity applicant_id=1")


def _bad_frames():
    f = frame()
    mixed = f.assign(purpose=["a", 1] * (N // 2))
    return [
        (f.drop(columns=["applicant_id"]), "--entity column 'applicant_id' is not in the DataFrame"),
        (f.drop(columns=["event_timestamp"]), "--timestamp column 'event_timestamp' is not in"),
        (pd.concat([f, f.iloc[:3]]), "3 duplicate (applicant_id, event_timestamp) rows"),
        (mixed, "column 'purpose' has an unsupported dtype (object holding int, str)"),
        (f.iloc[:0], "the DataFrame is empty"),
        (f.assign(event_timestamp="2024-01-01"), "must hold datetimes"),
        (f.assign(notes=[None] * N), "column 'notes' is empty (all missing)"),
        ("not a frame", "must end with a pandas DataFrame"),
    ]


@pytest.mark.parametrize("value, message", _bad_frames())
def test_bad_frames_are_one_line_and_write_nothing(fip, tmp_path, value, message):
    fip.user_ns["bad"] = value
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        register(fip, "bad")
    assert type(info.value) is UsageError and "\n" not in str(info.value)
    data = tmp_path / ".mlops" / "feast" / "data"
    assert not data.exists() or not any(data.iterdir())
    assert len(fip.run_line_magic("feature", "list")) == 0


@pytest.mark.parametrize(
    "line, cell, message",
    [
        (
            "2bad --entity applicant_id --timestamp event_timestamp",
            "applicants",
            "'2bad' is not a valid identifier",
        ),
        (
            "class --entity applicant_id --timestamp event_timestamp",
            "applicants",
            "'class' is not a valid identifier",
        ),
        ("v --entity applicant_id", "applicants", "needs --entity COLUMN and --timestamp COLUMN"),
        (
            "v --entity applicant_id --timestamp event_timestamp --ttl 3 days",
            "applicants",
            "unrecognized arguments",
        ),
        ("v --entity applicant_id --timestamp event_timestamp --ttl 3x", "applicants", "--ttl '3x'"),
        ("--apply", "x = 1", "the cell defined no Feast objects"),
    ],
)
def test_bad_cell_lines(fip, line, cell, message):
    with pytest.raises(UsageError, match=message):
        fip.run_cell_magic("feature", line, cell)


@pytest.mark.parametrize(
    "line, message",
    [
        ("get nope:age --entities ents", "no feature view 'nope'"),
        (
            "get applicant_profile:salary --entities ents",
            "has no field 'salary'; it has: age, credit_amount, purpose",
        ),
        ("get applicant_profile:age --entities missing_df", "--entities missing_df: no such variable"),
        ("online applicant_profile:nope --entity applicant_id=1", "has no field 'nope'"),
        ("online applicant_profile:age --entity 17", "type --entity applicant_id=17"),
        ("show nope", "no feature view 'nope'"),
        ("delete nope", "no feature view 'nope'"),
        ("materialize --since yesterday", "--since 'yesterday'"),
        ("frobnicate", "no subcommand"),
    ],
)
def test_bad_lines(fip, line, message):
    register(fip)
    fip.user_ns["ents"] = pd.DataFrame(
        {"applicant_id": [1], "event_timestamp": [pd.Timestamp("2024-06-01", tz="UTC")]}
    )
    with pytest.raises(UsageError, match=message) as info:
        fip.run_line_magic("feature", line)
    assert type(info.value) is UsageError and "\n" not in str(info.value)


def test_training_set_lineage_follows_the_data(fip):
    """A retrieval is recorded on every run trained after it in the kernel (the second candidate too),
    until a new retrieval of the view replaces it; --features says it explicitly."""
    import json

    from mlops_magics.tracking import client

    fv = register(fip)
    fip.user_ns["ents"] = pd.DataFrame(
        {"applicant_id": [1, 2], "event_timestamp": [pd.Timestamp("2024-06-01", tz="UTC")] * 2}
    )
    fip.run_line_magic("feature", "get applicant_profile:age --entities ents -o train")
    fip.run_cell_magic("track", "first -o run", "n = len(train)")
    fip.run_cell_magic("track", "second -o run2", "n = len(train)")  # e.g. the candidate that wins
    for run in (fip.user_ns["run"], fip.user_ns["run2"]):
        (used,) = json.loads(run.tags["mlops_magics.features"])
        assert {k: used[k] for k in ("view", "version", "fingerprint", "features", "entities", "rows")} == {
            "view": "applicant_profile", "version": "1", "fingerprint": fv.fingerprint, "features": ["age"],
            "entities": ["applicant_id"], "rows": 2,
        }  # fmt: skip
        # where the field's tools read it: Feast's own run tags, and an MLflow dataset input (the UI's Datasets)
        assert run.tags["feast.feature_views"] == "applicant_profile"
        assert (
            run.tags["feast.feature_refs"] == "applicant_profile:age" and run.tags["feast.project"] == "mlops"
        )
        (ds,) = client().get_run(run.run_id).inputs.dataset_inputs
        assert (ds.dataset.name, ds.dataset.digest, ds.dataset.source_type) == (
            "applicant_profile",
            fv.fingerprint,
            "feast",
        )
        assert json.loads(ds.dataset.source)["path"].endswith(f"{fv.fingerprint}.parquet")
    # retrieved inside an open run: tagged on it at once, merged with what it had
    fip.run_line_magic("track", "start inside")
    fip.run_line_magic("feature", "get applicant_profile:credit_amount --entities ents -o train")
    run = fip.run_line_magic("track", "end")
    assert json.loads(run.tags["mlops_magics.features"])[0]["features"] == ["age", "credit_amount"]
    # explicit: none, or named views at their current versions
    fip.run_cell_magic("track", "plain --features none -o run3", "m = 1")
    assert "mlops_magics.features" not in fip.user_ns["run3"].tags
    fip.run_cell_magic("track", "named --features applicant_profile -o run4", "m = 1")
    (named,) = json.loads(fip.user_ns["run4"].tags["mlops_magics.features"])
    assert named["view"] == "applicant_profile" and named["features"] == ["age", "credit_amount", "purpose"]
    with pytest.raises(UsageError, match="no feature view 'nope'"):
        fip.run_cell_magic("track", "bad --features nope", "m = 1")


def test_nulls_survive_register_online_and_retrieval(fip):
    """Gaps stay gaps: an integer feature stays an integer when a value or a whole entity is missing."""
    df = pd.DataFrame({
        "applicant_id": [1, 2, 3], "event_timestamp": pd.Timestamp("2024-01-01"),
        "age": pd.array([30, None, 50], dtype="Int64"), "income": [1.5, np.nan, 3.0],
        "job": ["a", None, "c"], "guarantor": [True, None, False],  # read_csv's object column of booleans
    })  # fmt: skip
    fip.user_ns["gappy"] = df
    fip.run_cell_magic("feature", "gappy --entity applicant_id --timestamp event_timestamp", "gappy")
    online = fip.run_line_magic("feature", "online gappy --entity applicant_id=1,2,99")
    assert str(online["age"].dtype) == "Int64" and online["age"].tolist()[0] == 30
    assert online["age"].isna().tolist() == [False, True, True] and online["income"].isna().tolist() == [
        False,
        True,
        True,
    ]
    assert online["job"].tolist()[:2] == ["a", None] and str(online["guarantor"].dtype) == "boolean"
    assert online.attrs["notes"] == ["not in the online store: applicant_id=99; their rows are empty (null)"]
    stored = fip.run_line_magic("feature", "online gappy --entity applicant_id=99 -o miss")
    assert "not in the online store: applicant_id=99" in stored._repr_mimebundle_()["text/plain"]
    fip.user_ns["ents"] = pd.DataFrame(
        {"applicant_id": [1, 2], "event_timestamp": pd.Timestamp("2024-06-01", tz="UTC")}
    )
    hist = fip.run_line_magic("feature", "get gappy --entities ents").sort_values("applicant_id")
    assert str(hist["age"].dtype) == "Int64" and hist["age"].isna().tolist() == [False, True]
    assert hist["job"].isna().tolist() == [False, True]


def test_clean_names_renames_and_shows_the_mapping(fip):
    wine = pd.DataFrame({"applicant_id": [1, 2], "event_timestamp": pd.Timestamp("2024-01-01"),
                         "od280/od315_of_diluted_wines": [3.1, 2.9], "Alcalinity of ash": [15.0, 16.1],
                         "durée": [1, 2], "1st payment": [5, 6], "class": ["x", "y"]})  # fmt: skip
    fip.user_ns["wine"] = wine
    with pytest.raises(UsageError, match="add --clean-names"):
        fip.run_cell_magic("feature", "wine --entity applicant_id --timestamp event_timestamp", "wine")
    fip.run_cell_magic(
        "feature", "wine --entity applicant_id --timestamp event_timestamp --clean-names -o fv", "wine"
    )
    fv = fip.user_ns["fv"]
    assert fv.renamed == {"od280/od315_of_diluted_wines": "od280_od315_of_diluted_wines",
                          "Alcalinity of ash": "alcalinity_of_ash", "durée": "duree", "1st payment": "f_1st_payment",
                          "class": "f_class"}  # fmt: skip
    assert sorted(fv.schema) == sorted(fv.renamed.values())
    assert "renamed 5 column(s)" in fv.card().to_text()
    from mlops_magics.features import clean_names

    assert clean_names(["Age", "age", "Age "]) == {"Age": "age_2", "age": "age", "Age ": "age_3"}


APPLIER = textwrap.dedent(
    """
    import sys, time
    import numpy as np, pandas as pd
    from mlops_magics import features
    name, start_at = sys.argv[1], float(sys.argv[2])
    df = pd.DataFrame({"applicant_id": np.arange(20), "event_timestamp": pd.Timestamp("2024-01-01")
                       + pd.to_timedelta(np.arange(20), unit="D"), name + "_value": np.arange(20.0)})
    time.sleep(max(0, start_at - time.time()))
    features.register_frame(df, name, "applicant_id", "event_timestamp")
    """
)


def test_concurrent_apply_keeps_both_views(tmp_path):
    start_at = time.time() + 12  # both interpreters import feast first, then apply together
    procs = [subprocess.Popen([sys.executable, "-c", APPLIER, name, str(start_at)], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name in ("view_a", "view_b")]  # fmt: skip
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
    from mlops_magics import features

    assert [v.name for v in features.list_views().views] == ["view_a", "view_b"]
    for name in ("view_a", "view_b"):
        got = features.online([f"{name}:{name}_value"], [{"applicant_id": 19}])
        assert got[f"{name}_value"].tolist() == [19.0]


def test_mlops_card_counts_feature_views_once_feast_is_loaded(fip):
    register(fip)
    assert fip.run_line_magic("mlops", "").counts["feature views"] == 1


def test_from_registers_a_named_frame(fip):
    fip.run_cell_magic("feature", "from_var --entity applicant_id --timestamp event_timestamp --from applicants -o fv",
                       "unused = 1")  # fmt: skip
    assert fip.user_ns["fv"].rows == N and fip.user_ns["unused"] == 1
    with pytest.raises(UsageError, match="--from nope: no such variable in the notebook"):
        fip.run_cell_magic(
            "feature", "v --entity applicant_id --timestamp event_timestamp --from nope", "x = 1"
        )
