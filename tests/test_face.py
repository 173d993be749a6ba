"""The face contract, walked over every magic and subcommand: each returns a result object that renders
as text and HTML, ``-o NAME`` stores it, ``--help`` prints its usage, a bad flag is one line. And the
README's table "magic -> API function" names functions that exist."""

from __future__ import annotations

import importlib
import re

import nbformat
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError

from mlops_magics.magics import LAZY_MAGICS

from conftest import ROOT


def subcommands() -> list[tuple[str, str]]:
    out = []
    for magic, (module, _) in LAZY_MAGICS.items():
        mod = importlib.import_module(module)
        out += [(magic, name) for name in mod.SUBCOMMANDS]
    return [*out, ("mlops", "run"), ("mlops", "reproduce")]


@pytest.mark.parametrize("magic, sub", subcommands())
def test_every_subcommand_has_help_and_refuses_a_bad_flag(ip, capsys, magic, sub):
    assert ip.run_line_magic(magic, f"{sub} --help") is None
    out = capsys.readouterr().out
    assert f"%{magic} {sub}" in out or f"Usage: %{magic} {sub}" in out
    with pytest.raises(UsageError) as info:
        ip.run_line_magic(magic, f"{sub} --no-such-flag")
    assert type(info.value) is UsageError and "\n" not in str(info.value)
    assert "--no-such-flag" in str(info.value) or "required" in str(info.value)


@pytest.mark.parametrize("magic", list(LAZY_MAGICS))
def test_every_magic_lists_its_subcommands_usage(ip, magic):
    doc = ip.find_line_magic(magic).__doc__
    module = importlib.import_module(LAZY_MAGICS[magic][0])
    for name in module.SUBCOMMANDS:
        assert f"%{magic} {name}" in doc
    assert ip.run_line_magic(magic, "--help") is None


def test_a_misspelt_flag_gets_a_suggestion(ip):
    with pytest.raises(UsageError, match=r"did you mean --experiment\?"):
        ip.run_line_magic("track", "runs --experimnt x")
    with pytest.raises(UsageError, match="did you mean 'runs'"):
        ip.run_line_magic("track", "rusn")


def test_unbalanced_quotes_are_one_line(ip):
    for magic, line in (("mlops", 'lineage "x'), ("mlops", 'run "x'), ("drift", 'a "b'), ("deploy", '"x')):
        with pytest.raises(UsageError, match="check the quotes") as info:
            ip.run_line_magic(magic, line)
        assert "\n" not in str(info.value)
    for magic, line in (("track", 'v --tag "x'), ("feature", 'v --tag "x'), ("feature", 'v "x')):  # issue #19
        with pytest.raises(UsageError, match="check the quotes"):
            ip.run_cell_magic(magic, line, "x = 1")


# -- issue #19: numbers are range-checked by the parser, and a bad -o NAME stops a verb before it runs ---------
@pytest.mark.parametrize(
    "magic, line, message",
    [
        (
            "deploy",
            "models:/x@y --name x --port 99999",
            "argument --port: 99999 is out of range",
        ),  # was OverflowError
        ("deploy", "models:/x@y --name x --timeout -5", "argument --timeout: -5 is out of range"),
        (
            "deploy",
            "models:/x@y --name x --target seldon --replicas -5",
            "argument --replicas: -5 is out of range",
        ),
        ("deploy", "logs x -n 0", "argument -n/--lines: 0 is out of range"),
        ("track", "ui --port 99999", "argument --port: 99999 is out of range"),
        ("drift", "ui --port 0", "argument --port: 0 is out of range"),
        ("drift", "a b --threshold nan", "argument --threshold: nan is out of range"),
        ("drift", "watch deployment:x --min-rows -1", "argument --min-rows: -1 is out of range"),
        ("mlops", "run x.ipynb --parallel 0", "0 is not in the range 1<=x<=64"),
    ],
)
def test_numbers_are_range_checked_by_the_parser(ip, tmp_path, magic, line, message):
    with pytest.raises(UsageError, match=re.escape(message)) as info:
        ip.run_line_magic(magic, line)
    assert type(info.value) is UsageError and "\n" not in str(info.value)
    assert not (tmp_path / ".mlops" / "deployments" / "x").exists()  # refused before any download


def test_a_bad_output_name_stops_a_verb_before_it_runs(ip, tmp_path):
    for magic, line in [
        ("mlops", "init sub -o 1x"),
        ("mlops", "run one.ipynb -o 'a b'"),
        ("drift", "a b -o 9"),
    ]:
        with pytest.raises(UsageError, match="-o takes a variable name"):
            ip.run_line_magic(magic, line)
    assert not (tmp_path / "sub").exists()  # %mlops init created the workspace, then refused the name


# -- every verb, for real, returns a result object and -o stores it -----------------------------------------
ONE_CELL = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("# parameters\nn = 1"),
                                           nbformat.v4.new_code_cell("print(n)")])  # fmt: skip
ONE_CELL.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}


@pytest.fixture(scope="module")
def world(shell, tmp_path_factory):
    """One workspace holding a feature view, two runs, a registered model and a local deployment."""
    from sklearn.linear_model import LogisticRegression

    folder = tmp_path_factory.mktemp("face")
    shell.run_line_magic("load_ext", "mlops_magics")
    shell.run_line_magic("config", f"MLOps.home = {str(folder / '.mlops')!r}")  # every test's cwd differs
    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame({"applicant_id": np.arange(n), "event_timestamp": pd.Timestamp("2024-01-01", tz="UTC"),
                          "age": rng.normal(40, 10, n), "amount": rng.normal(5, 1, n)})  # fmt: skip
    X = frame[["age", "amount"]]
    shell.user_ns.update(frame=frame, X=X, Y=X.assign(age=X.age + 20), y=(X.age > 40).astype(int),
                         ents=frame[["applicant_id", "event_timestamp"]], LogisticRegression=LogisticRegression)  # fmt: skip
    nbformat.write(ONE_CELL, folder / "one.ipynb")
    shell.run_cell_magic("feature", "profile --entity applicant_id --timestamp event_timestamp", "frame")
    shell.run_cell_magic("feature", "other --entity applicant_id --timestamp event_timestamp", "frame")
    shell.run_cell_magic("track", "trained --model model", "model = LogisticRegression().fit(X, y)")
    shell.run_line_magic("track", "register trained --name face --alias champion")
    shell.run_line_magic("deploy", "models:/face@champion --name face")
    yield shell, folder
    shell.run_line_magic("deploy", "stop --all")
    shell.run_line_magic("drift", "watch --stop")
    shell.run_line_magic("unload_ext", "mlops_magics")
    shell.config.pop("MLOps", None)


LINES = [
    ("mlops", ""), ("mlops", "status"), ("mlops", "init"), ("mlops", "lineage models:/face@champion"),
    ("feature", "list"), ("feature", "show profile"), ("feature", "get profile:age --entities ents"),
    ("feature", "online profile:age,amount --entity applicant_id=1,2"), ("feature", "materialize"),
    ("feature", "delete other"), ("feature", "ui"), ("feature", "ui --stop"),
    ("track", "start manual"), ("track", "log param a=1 metric m=2"), ("track", "end"), ("track", "runs"),
    ("track", "show trained"), ("track", "compare trained manual"), ("track", "register trained --name face"),
    ("track", "models"), ("track", "ui"), ("track", "ui --stop"), ("track", "ui --stop"),
    ("deploy", "predict face X"), ("deploy", "list"), ("deploy", "status face"), ("deploy", "logs face"),
    ("deploy", "models:/face@champion --name face-k --target kserve --storage-uri s3://b/face"),
    ("deploy", "models:/face@champion --name face-s --target seldon --storage-uri s3://b/face --replicas 2"),
    ("drift", "X Y"), ("drift", "X Y --save face"), ("drift", "history face"), ("drift", "X deployment:face"),
    ("drift", "watch deployment:face --reference X --every 1s"), ("drift", "watch --stop"),
    ("drift", "ui"), ("drift", "ui --stop"),
    ("mlops", "run {folder}/one.ipynb --no-progress"),
    ("deploy", "stop face"), ("deploy", "stop --all"),
]  # fmt: skip


@pytest.mark.parametrize("magic, line", LINES, ids=[f"{m} {line}".strip() for m, line in LINES])
def test_every_verb_returns_a_result_that_o_stores(world, magic, line):
    ip, folder = world
    line = line.format(folder=folder)
    ip.user_ns.pop("out", None)
    result = ip.run_line_magic(magic, f"{line} -o out")
    stored = ip.user_ns["out"]
    assert result is not None
    bundle = result._repr_mimebundle_()
    assert bundle["text/plain"].strip() and bundle["text/html"].strip()
    if isinstance(stored, pd.DataFrame):  # data comes back as a one-line confirmation of what was stored
        assert result.value is stored and "\n" not in bundle["text/plain"] and "rows" in bundle["text/plain"]
    else:
        assert result is stored
    plain = ip.run_line_magic(magic, line) if magic == "mlops" and line in ("", "status") else None
    assert plain is None or type(plain) is type(result)  # the same object kind without -o


def test_the_readme_table_names_real_functions():
    text = (ROOT / "README.md").read_text()
    table = text[text.index("| magic | API function |") :].split("\n\n")[0]
    names = re.findall(r"`(mlops_magics(?:\.\w+)+)`", table)
    assert len(names) >= 30
    for dotted in names:
        module, _, attr = dotted.rpartition(".")
        value = getattr(importlib.import_module(module), attr)
        assert callable(value) or attr.isupper(), dotted  # functions, and the registries (TARGETS, ENGINES)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab =-'\"\\\t\r\n\x0b\x0c\xa0\u2003é#", max_size=20))
def test_tokenize_splits_as_shlex_does(line):
    """The tokenizer's fast path (lines without quotes or escapes) gives shlex's words for every line."""
    import shlex

    from mlops_magics.magics._base import tokenize

    try:
        expected = shlex.split(line, posix=True)
    except ValueError:
        with pytest.raises(UsageError, match="check the quotes"):
            tokenize(line)
        return
    assert tokenize(line) == expected
