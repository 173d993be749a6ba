"""Generated magic lines through a real IPython shell: every magic and subcommand, fed quotes, unicode,
``../``, very long tokens, negative and huge numbers and empty values, next to names that exist.

After every line: only ``UsageError`` or the package's own errors (``MLOpsError``) escaped, each one
line (a cell's own exception is the cell's business); no file appeared outside the workspace; no
server was left but the UIs the lines asked for; no run is RUNNING.

The budget is ``MLOPS_FUZZ_EXAMPLES`` lines (default 200, about a minute), shared evenly by the verbs;
the nightly run takes more: ``MLOPS_FUZZ_EXAMPLES=20000 make test PYTEST_ARGS=tests/test_fuzz.py``. The
summary (lines tried, outcomes, kinds of message) is printed and written to ``test-output/fuzz-summary.json``.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import re
import shlex
import shutil
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError

from mlops_magics import servers
from mlops_magics.errors import MLOpsError
from mlops_magics.magics import LAZY_MAGICS

from conftest import ROOT, running_runs
from pipeline_notebooks import notebook

EXAMPLES = int(os.environ.get("MLOPS_FUZZ_EXAMPLES", "200"))
UIS = {
    "mlflow-ui",
    "evidently-ui",
    "feast-ui",
}  # servers a fuzzed line may start on purpose (%track/%drift/%feature ui)

HOSTILE = [
    "", " ", "'", '"', "\"x", "x'", "it's", "x' OR name = 'y", "' OR '1'='1", "\\", "a\\b", "\\'",
    "../", "..", ".", "../../x", "../../../../../../tmp/TRAVERSED", "../../evil", "/", "/etc/passwd",
    "/tmp", "a/b", "~", "~/x", "$HOME", "%s", "{}", "{0}", "%(x)s", "a b", "\t", "\n", "-", "--", "-o",
    ";", "|", "&&", "$(id)", "`id`", "\x00", "\u202e", "é", "日本語", "🙂", "Ω" * 40, "x" * 101, "x" * 300,
    "x" * 5000, "-1", "0", "-0", "00", "1e309", "-1e309", "nan", "inf", "-inf", "1e-9", "99999",
    "65536", "2147483648", "18446744073709551617", "-99999999999999999999", "0x10", "1_000", "1.5",
    "True", "None", "null", "[]", "[1, 2]", "{\"a\": 1}", "=", "k=", "=v", "k==v", "a=b=c",
    "api_token=s3cr3t", "secret_key=x", "password=x", "models:/", "models:/nope@x", "models:/face@",
    "models:/face/999", "runs:/", "runs:/nope/model", "run:", "run:nope", "run:../x", "deployment:",
    "deployment:../x", "deployment:nope", "s3://", "http://127.0.0.1:1", "1s", "0s", "-5m", "99999d",
    "soon", "2024-13-45", "0.0.0.0",
]  # fmt: skip
SLOTS = {  # values that exist in the world, per argument (magic.sub.dest, magic.dest, else dest)
    "frame": ["X", "Y", "frame", "ents", "run:last", "run:{run_id}", "deployment:face", "X.iloc"],
    "reference": "frame", "current": "frame", "entities": "frame", "input": "frame", "source": "frame",
    "run": ["trained", "last", "{run_id}", "manual", "baseline"], "a": "run", "b": "run", "run_id": "run",
    "ref": ["models:/face@champion", "models:/face/1", "run:last", "run:{run_id}", "deployment:face"],
    "refs": ["profile", "profile:age", "profile:age,amount", "other:amount", "profile:nope"],
    "feature.name": ["profile", "other", "fresh_view", "class"], "views": ["profile", "profile,other"],
    "feature.delete.name": ["other", "fresh_view", "x"],  # not profile: the other verbs need it
    "deploy.name": ["face", "face-k", "Face", "x" * 64], "drift.name": ["credit", "face", "credit.v2"],
    "track.name": ["baseline", "manual", "trained", "runs"], "deployment": ["deployment:face", "face"],
    "deploy.model": ["model", "models:/face@champion", "runs:/{run_id}/model", "models:/face/1"],
    "deploy.frame": ["X", "frame", "ents"], "target": ["age", "amount", "applicant_id"], "prediction": "target",
    "columns": ["age", "age,amount", "amount,age"], "threshold": ["0.05", "0.1", "0"],
    "stattest": ["ks", "psi", "wasserstein", "jensenshannon", "chisquare", "t_test"],
    "drift_share": ["0.5", "0.3", "1"], "window": ["1h", "30s", "7d"], "every": "window",
    "save": ["credit", "face", "credit-2"], "feature.entity": ["applicant_id", "age"],
    "feature.online.entity": ["applicant_id=1,2", "applicant_id=5"], "timestamp": ["event_timestamp"],
    "ttl": ["90d", "0", "1h"], "description": ["a view"], "since": ["2024-01-01", "2023-12-31T00:00:00"],
    "experiment": ["Default", "fz", "credit-risk"], "last": ["1", "5", "50000"],
    "track.register.name": ["face", "fz"], "alias": ["champion", "challenger"],
    "status": ["FINISHED", "FAILED", "KILLED"], "items": ["param", "C=1", "metric", "auc=0.9", "tag", "team=risk"],
    "params": ["C", "C,x"], "metrics": ["auc", "x"], "model": ["model"], "tag": ["team=risk", "k=v"],
    "storage_uri": ["s3://b/face", "gs://b/x"], "canary": ["10", "face:10"], "replicas": ["1", "2", "0"],
    "min_replicas": "replicas", "max_replicas": "replicas", "max_batch_size": ["8"], "max_batch_time": ["0.05"],
    "timeout": ["60", "0.5"], "lines": ["5", "100"], "min_rows": ["1", "30"], "port": ["0", "{port}"],
    "parameters": ["n 4", "n 1.5", "one.n 2", "nope 1"], "parallel": ["1", "2"], "rtol": ["0.1", "0"],
    "mlops.reproduce.run_id": ["{pipeline_run}", "{run_id}", "last"], "engine": ["kfp", "local"],
    "base_image": ["python:3.11"], "feature.command": ["list", "lst"], "track.command": ["runs", "show"],
    "features": ["profile", "none", "profile,other"], "outputs": ["prediction", "proba", "prediction,proba"],
    "mlops.run.target": ["one.ipynb", "pipe.yaml", "bad.yaml", "outside.yaml", "missing.ipynb", "existing.txt"],
}  # fmt: skip
NEVER = {  # options a fuzzed line does not use, and why
    "--compile": "writes a file where the user asks (outside the workspace by design)",
    "--host": "submits to a Kubeflow server at a generated address",
    "--stop": "stopping and restarting a UI costs seconds; the test stops them at the end",
    "--output": "-o NAME is added to every kind of line below",
    "--help": "prints the usage; test_face covers it",
}
CELLS = {
    "track": ["x = 1", "1/0", "model = LogisticRegression().fit(X, y)", "", "X", "auc = 0.9", "C = 1\nauc = 0.5"],
    "feature": ["frame", "X", "x = 1", "1/0", "", "frame.assign(age=None)", "frame.rename(columns={'age': 1})",
                "frame.head(3)"],
}  # fmt: skip


# -- what a fuzzed line can say: every magic, subcommand and option, read from their own parsers ------------
REQUIRED = {"entity", "timestamp", "name", "storage_uri", "parameters"}  # options most lines give
Slot = tuple  # (dest, flag or None, how many values: 0, 1, 2, "?", "+", "*")


def _argparse_slots(parser) -> list[Slot]:
    out = []
    for action in parser._actions:
        flags = [f for f in action.option_strings if f.startswith("--")]
        if action.option_strings and (not flags or flags[0] in NEVER):
            continue
        out.append((action.dest, flags[0] if flags else None, 1 if action.nargs is None else action.nargs))
        if action.required:
            REQUIRED.add(action.dest)
    return out


def _click_slots(command) -> list[Slot]:
    out = []
    for p in command.params:
        flag = p.opts[-1] if p.opts[-1].startswith("-") else None
        if flag in NEVER or p.name == "help":
            continue
        out.append((p.name, flag, 0 if getattr(p, "is_flag", False) else p.nargs))
    return out


def targets() -> list[tuple[str, str, str | None, list[Slot]]]:
    """(kind, magic, subcommand, argument slots) for every verb of every magic."""
    from mlops_magics import cli

    out = []
    for magic, (module, kind) in LAZY_MAGICS.items():
        mod = importlib.import_module(module)
        for name, fn in mod.SUBCOMMANDS.items():
            out.append(("line", magic, name, _argparse_slots(fn.parser)))
        magics_class = next(v for v in vars(mod).values() if isinstance(v, type) and v.__module__ == module)
        slots = _argparse_slots(getattr(magics_class, magic).parser)
        if kind == "line_cell":
            out.append(("cell", magic, None, slots))
            out.append(("line", magic, "", []))  # the line form, with a word that is no subcommand
        elif magic != "mlops":
            out.append(("line", magic, None, slots))
    out.append(("line", "mlops", "run", _click_slots(cli.run)))
    out.append(("line", "mlops", "reproduce", _click_slots(cli.reproduce)))
    out.append(("line", "mlops", None, []))
    return out


TARGETS = targets()
PER_TARGET = max(2, round(EXAMPLES / len(TARGETS)))
TALLY: dict[str, Counter] = {}  # verb -> outcomes of its lines
MESSAGES: Counter = Counter()  # the kinds of error message seen


def label(target) -> str:
    kind, magic, sub, _ = target
    return f"%{'%' if kind == 'cell' else ''}{magic} {'?' if sub == '' else sub or ''}".strip()


def pool(magic: str, sub: str | None, dest: str, ids: dict) -> list[str]:
    for key in (f"{magic}.{sub}.{dest}", f"{magic}.{dest}", dest):
        found = SLOTS.get(key)
        while isinstance(found, str):  # an alias: "reference": "frame"
            found = SLOTS[found]
        if found:
            return [v.format(**ids) for v in found]
    return []


TEXT = st.text(st.characters(blacklist_characters="\x00"), max_size=12)  # NUL: refused by the tokenizer
HOSTILE_TOKENS = st.one_of(
    st.sampled_from(HOSTILE),
    TEXT,
    st.integers(-(10**20), 10**20).map(str),
    st.floats().map(repr),
    st.text(min_size=90, max_size=400),
)


def value(draw, valid: list[str]) -> str:
    """A value for one argument: two times in three one that exists (when there is one), else hostile."""
    return draw(st.sampled_from(valid)) if valid and not rarely(draw, 3) else draw(HOSTILE_TOKENS)


def rarely(draw, one_in: int) -> bool:
    """True once in ``one_in`` draws; False for hypothesis's simplest example (it starts from 0)."""
    return draw(st.integers(0, one_in - 1)) == one_in - 1


@st.composite
def cases(draw, world, target):
    kind, magic, sub, slots = target
    ids = world["ids"]
    if magic == "mlops" and sub == "init":  # it writes where it is told: only folders inside the test's own
        path = draw(st.sampled_from(world["init_paths"]))
        return f"init {path}" + draw(st.sampled_from(["", " -o out", " -o 1x"])), None
    words = [] if sub is None else [sub or value(draw, pool(magic, "", "command", ids))]
    local = magic == "deploy" and sub is None and draw(st.booleans())  # local: never a real model (MLServer)
    for dest, flag, count in slots:
        valid = [] if local and dest == "model" else pool(magic, sub, dest, ids)
        if magic == "deploy" and sub is None and dest == "target":
            continue  # decided below: a local deploy of a real model would start MLServer
        if flag is None:  # a positional: as many as the parser wants, or now and then not
            n = {"?": 0 if rarely(draw, 4) else 1, "+": draw(st.integers(1, 3)), "*": draw(st.integers(0, 3))}
            n = draw(st.integers(0, 3)) if rarely(draw, 10) else n.get(count, 1)
            words += [value(draw, valid) for _ in range(n)]
        elif (
            not rarely(draw, 10) if dest in REQUIRED else rarely(draw, 3)
        ):  # an option (a required one mostly)
            n = 0 if count == 0 else count if isinstance(count, int) else 1
            values = [value(draw, valid) for _ in range(n)]
            if flag == "--parameter":  # NAME VALUE
                values = values[0].split(" ", 1) if " " in values[0] else [values[0], value(draw, ["1", "x"])]
            words += [flag, *([] if rarely(draw, 20) else values)]  # now and then a value is missing
    if magic == "deploy" and sub is None and not local:
        words += ["--target", draw(st.sampled_from(["kserve", "seldon"]))]
    if rarely(draw, 5):  # one more word anywhere
        words.insert(draw(st.integers(0, len(words))), draw(HOSTILE_TOKENS))
    # a word as typed: shell-quoted, now and then raw (quotes unbalanced, spaces splitting it)
    line = " ".join(w if i == 0 or rarely(draw, 8) else shlex.quote(w) for i, w in enumerate(words))
    if rarely(draw, 10):
        line += " -o " + draw(st.sampled_from(["out", "X", "1x", "a-b", "", "'x y'"]))
    cell = draw(st.sampled_from(CELLS[magic])) if kind == "cell" else None
    return line, cell


# -- the world the lines act on, prepared once -------------------------------------------------------------
@pytest.fixture(scope="module")
def world(shell, tmp_path_factory):
    from sklearn.linear_model import LogisticRegression

    folder = tmp_path_factory.mktemp("fuzz")
    home = folder / ".mlops"
    shell.run_line_magic("load_ext", "mlops_magics")
    shell.run_line_magic("config", f"MLOps.home = {str(home)!r}")
    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame({"applicant_id": np.arange(n), "event_timestamp": pd.Timestamp("2024-01-01", tz="UTC"),
                          "age": rng.normal(40, 10, n), "amount": rng.normal(5, 1, n)})  # fmt: skip
    X = frame[["age", "amount"]]
    names = dict(frame=frame, X=X, Y=X.assign(age=X.age + 20), y=(X.age > 40).astype(int),
                 ents=frame[["applicant_id", "event_timestamp"]], LogisticRegression=LogisticRegression)  # fmt: skip
    shell.user_ns.update(names)
    shell.run_cell_magic("feature", "profile --entity applicant_id --timestamp event_timestamp", "frame")
    shell.run_cell_magic("feature", "other --entity applicant_id --timestamp event_timestamp", "frame")
    shell.run_cell_magic("track", "trained --model model", "model = LogisticRegression().fit(X, y)")
    shell.run_line_magic("track", "register trained --name face --alias champion")
    shell.run_line_magic("drift", "X Y --save credit")
    run_id = shell.run_line_magic("track", "show trained").run_id
    names["model"] = shell.user_ns["model"]
    notebook(folder / "one.ipynb", "n = 1", "print(n)")
    (folder / "pipe.yaml").write_text("name: pipe\nsteps:\n  one: {notebook: one.ipynb}\n")
    pipeline_run = shell.run_line_magic("mlops", f"run {folder / 'pipe.yaml'} --no-progress").run_id
    (folder / "bad.yaml").write_text("steps:\n  one: {notebook: one.ipynb, gpu: lots, timeout: soon}\n")
    (folder / "outside.yaml").write_text("steps:\n  one: {notebook: ../one.ipynb}\n")
    (folder / "existing.txt").write_text("a file, not a folder\n")
    init_paths = ["", "sub", "a/b/c", "existing.txt", "existing.txt/x", "'a b'", "日本語", "x" * 300,
                  f"../{folder.name}/again", "''", '"x', "."]  # fmt: skip
    started = time.monotonic()
    ids = {"run_id": run_id, "pipeline_run": pipeline_run, "port": str(servers.free_port())}
    yield {
        "shell": shell,
        "folder": folder,
        "home": home,
        "ids": ids,
        "vars": names,
        "init_paths": init_paths,
    }
    total = Counter()
    for outcomes in TALLY.values():
        total.update(outcomes)
    summary = {"lines": sum(total.values()), "budget": EXAMPLES, "seconds": round(time.monotonic() - started, 1),
               "outcomes": dict(total.most_common()), "verbs": {k: dict(v) for k, v in sorted(TALLY.items())},
               "messages": dict(MESSAGES.most_common())}  # fmt: skip
    (ROOT / "test-output").mkdir(exist_ok=True)
    (ROOT / "test-output" / "fuzz-summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\nfuzz: {summary['lines']} lines in {summary['seconds']:.0f} s: {summary['outcomes']}")
    shell.run_line_magic("track", "ui --stop")
    shell.run_line_magic("drift", "ui --stop")
    shell.run_line_magic("feature", "ui --stop")
    shell.run_line_magic("deploy", "stop --all")
    shell.run_line_magic("drift", "watch --stop")
    shell.run_line_magic("unload_ext", "mlops_magics")
    shell.config.pop("MLOps", None)


# -- what must hold after every line ------------------------------------------------------------------------
def files(folder: Path, workspace: Path) -> set[Path]:
    """Every path under ``folder`` but inside the workspace, and the entries of ``folder``'s ancestors."""
    out = set()
    for root, dirs, names in os.walk(folder):
        if Path(root) == folder:
            dirs[:] = [d for d in dirs if folder / d != workspace]
        out.update(Path(root) / n for n in [*dirs, *names])
    for parent in folder.parents:
        out.update(parent / n for n in os.listdir(parent))
    return out


def named_by(path: Path, folder: Path, line: str) -> bool:
    """Whether a new path could come from the line: anything under the test's folder, and an entry of
    an ancestor only when the line names it (other processes on the machine create files in /tmp too)."""
    if path.is_relative_to(folder):
        return True
    stems = {w.rstrip("/").rsplit("/", 1)[-1] for w in line.replace("'", " ").replace('"', " ").split()}
    return any(len(s) >= 2 and path.name.startswith(s) for s in stems)


def stray_processes(baseline: set[int]) -> list[psutil.Process]:
    """New children of this process that outlive a short wait and do not belong to a UI server a line
    asked for (whose workers come and go)."""
    uis = {server.pid for name, server in servers.running().items() if name in UIS}
    found = []
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if child.pid not in baseline | uis and not uis & {p.pid for p in child.parents()}:
                found.append(child)
    _, alive = psutil.wait_procs(found, timeout=3)
    return [p for p in alive if _lingers(p)]


def _lingers(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def outcome_of(exc: BaseException | None, cell: str | None) -> str:
    if exc is None:
        return "ok"
    if type(exc) is UsageError:
        return "UsageError"
    if isinstance(exc, MLOpsError):
        return type(exc).__name__
    if cell == "1/0" and isinstance(exc, ZeroDivisionError):
        return "cell's own error"
    return "NOT CLEAN"


@pytest.mark.parametrize("target", TARGETS, ids=[label(t) for t in TARGETS])
def test_fuzzed_lines_fail_cleanly(world, target, monkeypatch):
    ip, folder, home = world["shell"], world["folder"], world["home"]
    kind, magic, _, _ = target
    monkeypatch.chdir(folder)
    baseline = {p.pid for p in psutil.Process().children(recursive=True)}  # e.g. a session's mlflow server
    tally = TALLY.setdefault(label(target), Counter())

    @settings(max_examples=PER_TARGET, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=cases(world, target))
    def one(case):
        import mlflow

        line, cell = case
        if magic == "track" and line.split(" ", 1)[0] in ("log", "end"):
            ip.run_line_magic("track", "start open -e fz")  # something to log into, or to end
        before = files(folder, home)
        exc = None
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                if kind == "line":
                    ip.run_line_magic(magic, line)
                else:
                    ip.run_cell_magic(magic, line, cell)
            except BaseException as caught:  # everything: the point is to see what escapes
                exc = caught
        outcome = outcome_of(exc, cell)
        tally[outcome] += 1
        if exc is not None:  # what the message says, values left out: how far the lines got
            MESSAGES[re.sub(r"'[^']*'|\"[^\"]*\"|-?\d[\d.e+-]*", "_", str(exc))[:90]] += 1
        # what the line left behind: a workspace it was asked to create is its business, nothing else is
        new = {p for p in files(folder, home) - before if named_by(p, folder, line)}
        created = None
        if not exc and magic == "mlops" and line.startswith("init") and line.strip() != "init":
            created = Path(ip.run_line_magic("mlops", "status").home)
        ip.run_line_magic("config", f"MLOps.home = {str(home)!r}")  # %mlops init switched to its folder
        if mlflow.active_run() is not None:  # %track start opens a run on purpose: close it
            ip.run_line_magic("track", "end")
        ip.user_ns.update(world["vars"])  # -o NAME may have replaced a variable
        outside = sorted(
            str(p)
            for p in new
            if created is None or not (p.is_relative_to(created) or created.is_relative_to(p))
        )
        for path in sorted(new, key=lambda p: len(p.parts), reverse=True):  # leave the world as it was
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        assert outcome != "NOT CLEAN", f"{kind} %{magic} {line!r}: {type(exc).__name__}: {exc}"
        if exc is not None and outcome != "cell's own error":
            assert len(str(exc).splitlines()) <= 1, f"%{magic} {line!r}: a message of several lines: {exc}"
        assert not outside, f"%{magic} {line!r} wrote outside the workspace: {outside[:5]}"
        assert set(servers.running()) <= UIS, f"%{magic} {line!r} left {set(servers.running())}"
        assert not stray_processes(baseline), f"%{magic} {line!r} left {stray_processes(baseline)}"
        assert not running_runs(), f"%{magic} {line!r} left a RUNNING run"

    one()
    assert sum(tally.values()) >= 2  # hypothesis stops early only when a verb has few distinct lines
