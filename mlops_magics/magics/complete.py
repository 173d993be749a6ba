"""Tab completion for every magic, through IPython's completer (one matcher, API v2), so
JupyterLab, Notebook and the terminal offer: subcommands and their flags, deployment names, registered
models and their aliases after ``models:/``, feature views and their features after ``VIEW:``, run names
and ``run:`` / ``deployment:`` references, and DataFrame (or fitted model) variables where one is expected.

Everything here is cheap: names come from the workspace's files, MLflow's SQLite file (stdlib) and Feast
only when it is already imported; nothing heavy is imported to complete a word.
"""

from __future__ import annotations

import importlib
import sqlite3
import sys

from . import LAZY_MAGICS

FRAME_OPTIONS = {"--entities", "--reference", "--from", "--input"}  # options that take a notebook variable


MATCHER_ID = "mlops_magics.complete"


def install(shell) -> None:
    """One matcher (IPython's matcher API v2) for the lines of every magic. On a ``%magic`` line it
    answers alone: a ``complete_command`` hook cannot, as IPython keeps Jedi's results beside a hook's,
    and Jedi reads ``%deploy `` as Python, so ``and``, ``if``, ``in`` ... headed the popup."""
    uninstall(shell)
    shell.Completer.custom_matchers.append(_matcher(shell))


def uninstall(shell) -> None:
    found = shell.Completer.custom_matchers
    found[:] = [m for m in found if getattr(m, "matcher_identifier", None) != MATCHER_ID]


def _matcher(shell):
    from IPython.core.completer import SimpleCompletion, context_matcher

    @context_matcher(identifier=MATCHER_ID)
    def complete(context) -> dict:
        line = context.text_until_cursor
        command = line.split(None, 1)[0] if line.strip() else ""
        magic = command.lstrip("%")  # `deploy st` with automagic too, as IPython's hooks did
        if magic not in LAZY_MAGICS or (command.startswith("%%") and LAZY_MAGICS[magic][1] != "line_cell"):
            return {"completions": [], "suppress": False}
        try:
            found = [c for c in matches(shell, magic, line) if c.startswith(context.token)]
        except Exception:  # completion must never raise into the front end
            found = []
        # a line that starts with %magic is ours alone; a bare word (automagic) may still be Python
        return {"completions": [SimpleCompletion(c, type="argument") for c in found],
                "suppress": command.startswith("%"), "ordered": True}  # fmt: skip

    return complete


def matches(shell, magic: str, text: str) -> list[str]:
    """Completions of the last word of ``text`` (a magic's line up to the cursor), cut where IPython's
    completer cuts its token, so they replace exactly what it replaces."""
    from IPython.core.completer import DELIMS

    words = text.split()
    current = "" if not words or text[-1:].isspace() else words[-1]
    before = words[1:] if current == "" else words[1:-1]
    if not words or (current and len(words) == 1):
        return []
    cut = max(current.rfind(d) for d in DELIMS) + 1
    return [c[cut:] for c in sorted(set(suggestions(shell, magic, before, current))) if c.startswith(current)]


def suggestions(shell, magic: str, before: list[str], current: str) -> list[str]:
    module = importlib.import_module(LAZY_MAGICS[magic][0])
    subs = getattr(module, "SUBCOMMANDS", {})
    extra = ["run", "reproduce"] if magic == "mlops" else []
    if not before and not current.startswith("-"):  # the first word: a subcommand, or what the verb takes
        return [*subs, *extra, *_first_words(shell, magic, current)]
    if not before:
        return _flags(_magic_function(module, magic))
    sub = before[0] if before[0] in subs else None
    if current.startswith("-"):
        return _flags(subs[sub] if sub else _magic_function(module, magic))
    last = before[-1]
    if last in FRAME_OPTIONS:
        return _variables(shell, frames=True)
    if last in ("--name",) and magic == "track":
        return _registered_models()
    return _refs_for(shell, magic, sub, before, current)


def _first_words(shell, magic: str, current: str) -> list[str]:
    if magic == "deploy":
        return [*_model_uris(current), *_variables(shell, models=True)]
    if magic == "drift":
        return [*_variables(shell, frames=True), *_references(current)]
    return []


def _refs_for(shell, magic: str, sub: str | None, before: list[str], current: str) -> list[str]:
    if magic == "deploy":
        if sub in ("predict", "status", "logs", "stop"):
            return _deployments() if len(before) == 1 else _variables(shell, frames=True)
        return []
    if magic == "drift":
        if sub == "watch":
            return [f"deployment:{d}" for d in _deployments()]
        if sub == "history":
            return _histories()
        return [*_variables(shell, frames=True), *_references(current)] if sub is None else []
    if magic == "feature" and sub in ("show", "delete", "get", "online"):
        return _views(current, with_features=sub in ("get", "online"))
    if magic == "track" and sub in ("show", "compare", "register"):
        return ["last", *_run_names()]
    if magic == "mlops" and sub == "lineage":
        return _references(current)
    return []


def _magic_function(module, magic: str):
    """The magic's own function (its parser holds the main verb's flags)."""
    return next(
        (getattr(v, magic) for v in vars(module).values() if isinstance(v, type) and hasattr(v, magic)), None
    )


def _flags(func) -> list[str]:
    parser = getattr(func, "parser", None)
    return [s for a in getattr(parser, "_actions", []) for s in a.option_strings if s.startswith("--")]


def _variables(shell, frames: bool = False, models: bool = False) -> list[str]:
    out = []
    for name, value in list(shell.user_ns.items()):
        if name.startswith("_") or not name.isidentifier():
            continue
        kind = type(value)
        if (frames and kind.__name__ == "DataFrame" and kind.__module__.startswith("pandas")) or (
            models and hasattr(value, "predict") and hasattr(value, "fit") and not isinstance(value, type)
        ):
            out.append(name)
    return out


def _references(current: str) -> list[str]:
    out = ["run:last", *[f"run:{n}" for n in _run_names()], *[f"deployment:{d}" for d in _deployments()]]
    return out + _model_uris(current)


def _model_uris(current: str) -> list[str]:
    if not current.startswith("models:/") and current not in (
        "",
        "m",
        "mo",
        "mod",
        "mode",
        "model",
        "models",
        "models:",
    ):
        return []
    out = []
    for name, aliases in _registered_models_with_aliases().items():
        out.append(f"models:/{name}")
        out += [f"models:/{name}@{a}" for a in aliases]
    return out


# -- names, read cheaply -------------------------------------------------------------------------------------
def _workspace():
    from ..workspace import current

    return current()


def _deployments() -> list[str]:
    return sorted(p.parent.name for p in _workspace().deployments_dir.glob("*/deployment.json"))


def _histories() -> list[str]:
    return sorted(p.stem for p in (_workspace().monitoring_dir / "history").glob("*.jsonl"))


def _query(sql: str) -> list[tuple]:
    """Rows from the embedded MLflow store (stdlib sqlite3, read-only); none for a tracking server."""
    from ..config import get_config

    if get_config().resolved_tracking_uri():
        return []
    db = _workspace().mlflow_db
    if not db.is_file():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return con.execute(sql).fetchall()
    except sqlite3.Error:
        return []


def _run_names() -> list[str]:
    rows = _query("SELECT name FROM runs WHERE lifecycle_stage = 'active' AND name IS NOT NULL "
                  "ORDER BY start_time DESC LIMIT 200")  # fmt: skip
    return [r[0] for r in rows if r[0] and " " not in r[0]]


def _registered_models() -> list[str]:
    return sorted(_registered_models_with_aliases())


def _registered_models_with_aliases() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {name: [] for (name,) in _query("SELECT name FROM registered_models")}
    for name, alias in _query("SELECT name, alias FROM registered_model_aliases"):
        out.setdefault(name, []).append(alias)
    return out


def _views(current: str, with_features: bool) -> list[str]:
    if "feast" not in sys.modules:  # reading the registry needs Feast: only once the kernel has paid for it
        return []
    from ..features import list_views

    out = []
    for view in list_views().views:
        out.append(view.name)
        if with_features and current.startswith(f"{view.name}:"):
            out += [f"{view.name}:{f}" for f in view.schema]
    return out
