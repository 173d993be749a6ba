"""The face contract every magic follows: one tokenizer, subcommands declared once, one finish step.

A magic is a parser: it reads its line (``tokenize``), calls one function of the plain-Python API and
``finish``es — ``-o NAME`` stores the result, and the result is returned (IPython shows it). Subcommands
(``%track runs``) are small functions declared with :func:`subcommand` and IPython's ``@argument``
decorators, so each has a parser (``%track runs --help``) and ``%track?`` lists all their usages. A user
mistake is one line: IPython's own ``UsageError``.
"""

from __future__ import annotations

import difflib
import functools
import re
import shlex
from argparse import ArgumentTypeError

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments

from ..config import get_config
from ..display import Stored
from ..errors import BackendError, UserInputError, one_line

HELP = ("-h", "--help")


def friendly_errors(method):
    """A user mistake becomes IPython's plain ``UsageError`` (one line). Backend errors render as one
    line by themselves; ``%config MLOps.short_errors = False`` shows full tracebacks of both."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        short = get_config().short_errors
        BackendError.short = short
        try:
            return method(*args, **kwargs)
        except UserInputError as exc:
            if not short:
                raise
            raise UsageError(str(exc)) from None

    return wrapper


# -- reading a line -----------------------------------------------------------------------------------------
_PLAIN, _SPACE = re.compile(r"[^'\"\\]*"), re.compile(r"[ \t\r\n]+")  # shlex's posix quotes, escape, spaces


def tokenize(line: str) -> list[str]:
    """The one tokenizer of every magic: shell-like words (quotes group, ``\\`` escapes). A NUL character
    can name nothing (no file, no variable): refused here, once for every magic."""
    line = line or ""
    if "\x00" in line:
        raise UsageError(f"cannot read {line.strip()[:80]!r}: a line cannot hold a NUL character")
    if _PLAIN.fullmatch(line):  # no quote, no escape: the same words without shlex's per-character loop
        words = line.strip(" \t\r\n")  # (a logging loop tokenizes a line per point)
        return _SPACE.split(words) if words else []
    try:
        return shlex.split(line, posix=True)
    except ValueError as exc:
        raise UsageError(f"cannot read {line.strip()[:80]!r}: {exc}; check the quotes") from None


def parse_words(func, words: list[str], label: str):
    """Parse ``words`` with the parser IPython's ``@magic_arguments`` built for ``func``; ``-h``/``--help``
    prints its usage and gives None. Errors are one line, with "did you mean" for a misspelt flag; a bad
    ``-o NAME`` is one too, before anything runs."""
    parser = func.parser
    if any(w in HELP for w in words):
        print(func.__doc__)  # the parser's help; for a magic, with its subcommands' usages
        return None
    try:
        args = parser.parse_args(words)
    except UsageError as exc:
        message = " ".join(str(exc).split())
        raise UsageError(f"%{label}: {message}{_suggest(parser, message)}; type %{label} --help") from None
    check_output(getattr(args, "output", None))  # a bad -o NAME is refused before anything runs
    return args


def _suggest(parser, message: str) -> str:
    if "unrecognized arguments:" not in message:
        return ""
    known = [s for a in parser._actions for s in a.option_strings]
    for word in message.split("unrecognized arguments:", 1)[1].split():
        if word.startswith("-"):
            close = difflib.get_close_matches(word.split("=")[0], known, n=1, cutoff=0.6)
            if close:
                return f" (did you mean {close[0]}?)"
    return ""


def parse(magic_func, line: str, label: str):
    """A magic's own line, tokenized and parsed (None after ``--help``)."""
    return parse_words(magic_func, tokenize(line), label)


# -- subcommands ---------------------------------------------------------------------------------------------
def subcommand(magic: str, name: str):
    """Declare ``fn(magics, args) -> result`` as the subcommand ``%magic name``; put IPython's
    ``@argument(...)`` decorators below this one. Every subcommand also takes ``-o NAME``."""

    def decorate(fn):
        fn = argument("-o", "--output", metavar="NAME", help="store the result in this variable")(fn)
        fn = magic_arguments(name=f"{magic} {name}")(fn)
        fn.subcommand = name
        return fn

    return decorate


def table(*functions) -> dict:
    return {fn.subcommand: fn for fn in functions}


def dispatch(magics, magic: str, subcommands: dict, words: list[str], others: tuple[str, ...] = ()):
    """Run the subcommand named by ``words[0]`` with the rest of the words; finish with its result.
    (``others``: subcommands the magic handles itself, named in the error for an unknown one.)"""
    name, rest = words[0], words[1:]
    if name in HELP:
        print(getattr(magics, magic).__doc__)
        return None
    fn = subcommands.get(name)
    if fn is None:
        known = [*subcommands, *others]
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise UsageError(f"%{magic} has no subcommand {name!r}; {hint}use one of: {', '.join(known)}")
    args = parse_words(fn, rest, f"{magic} {name}")
    if args is None:
        return None
    return finish(magics.shell, args.output, fn(magics, args))


def dispatch_line(magics, magic: str, subcommands: dict, line: str):
    """The line form of a magic whose every verb is a subcommand (``%track runs``, ``%feature list``)."""
    words = tokenize(line)
    if not words:
        raise UsageError(f"%{magic} needs a subcommand: {', '.join(subcommands)}; see %{magic}?")
    return dispatch(magics, magic, subcommands, words)


def toggle_server(start, stop, port: int | None, stopping: bool, what: str):
    """``ui`` subcommands: start the server (a running one is reused), or ``--stop`` it."""
    from ..display import Outcome

    if stopping:
        return stop() or Outcome("was not running", [], what)
    return start(port)


def document(magic_func, subcommands: dict) -> None:
    """Append every subcommand's generated usage to the magic's docstring: ``%track?`` is its manual."""
    usages = [" ".join(fn.parser.format_usage().replace("::", "").split()) for fn in subcommands.values()]
    doc = (magic_func.__doc__ or "").rstrip()
    magic_func.__doc__ = (
        doc + "\n\nSubcommands (each takes --help)::\n\n" + "\n".join(f"  {u}" for u in usages) + "\n"
    )


# -- finishing ------------------------------------------------------------------------------------------------
def check_output(name: str | None) -> None:
    """Refuse a bad ``-o NAME`` before anything runs."""
    if name and not name.isidentifier():
        raise UsageError(f"-o takes a variable name, not {name!r}: type e.g. -o result")


def finish(shell, name: str | None, result):
    """The last step of every magic: ``-o NAME`` stores ``result``; the result is returned.

    Data (a DataFrame) stored with ``-o`` comes back as a one-line confirmation instead of the data."""
    check_output(name)
    notes = getattr(result, "attrs", {}).get("notes", []) if not hasattr(result, "card") else []
    if name and result is not None:
        shell.user_ns[name] = result
        if not hasattr(result, "card"):
            return Stored(name, result, notes)
    for note in notes:  # e.g. entities the online store does not hold
        print(note)
    return result


def variable(shell, name: str, label: str):
    """The notebook variable ``name``, or a UsageError saying ``label`` names none."""
    if not name.isidentifier() or name not in shell.user_ns:
        raise UsageError(f"{one_line(label)}: no such variable in the notebook (give the name of a variable)")
    return shell.user_ns[name]


def run_cell_body(shell, cell: str):
    """Run a cell's code in the user namespace as IPython runs a cell (its compiler with the
    session's ``__future__`` flags, its AST transformers, the cell's own ``In [N]`` label; magics inside
    it work) and return its last expression's value. A failure shows the traceback IPython would show for
    the same cell without the magic: the cell's own frames, none of this package's."""
    __tracebackhide__ = True
    import ast

    source = shell.transform_cell(cell)
    filename = shell.compile.cache(source, _cell_number(shell), raw_code=cell)
    tree = shell.transform_ast(shell.compile.ast_parse(source, filename=filename))
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    try:
        exec(shell.compile(tree, filename, "exec"), shell.user_ns)
        return eval(shell.compile(last, filename, "eval"), shell.user_ns) if last is not None else None
    except Exception as exc:
        _show_as_the_cell(shell, exc, filename)
        raise


def _cell_number(shell) -> int:
    """The ``In [N]`` of the cell running this magic, as IPython labelled it (the count has moved on)."""
    import sys

    frame = sys._getframe(2)
    while frame is not None:
        label = shell.compile.format_code_name(frame.f_code.co_filename)
        if label:
            digits = "".join(ch for ch in label[1] if ch.isdigit())
            return int(digits) if digits else shell.execution_count
        frame = frame.f_back
    return shell.execution_count


def _show_as_the_cell(shell, exc: BaseException, filename: str) -> None:
    """Make IPython render ``exc`` from the cell's first frame on (``_render_traceback_``, which IPython
    reads before its own formatter), so the package's frames above it never show."""
    if isinstance(exc, UsageError) or hasattr(type(exc), "_render_traceback_"):
        return  # one line already, or the exception renders itself
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    if tb is None:
        return
    lines = shell.InteractiveTB.structured_traceback(type(exc), exc, tb)
    try:
        exc._render_traceback_ = lambda: lines
    except AttributeError:  # an exception type with __slots__: the full traceback it is
        pass


def csv_names(value: str | None, option: str) -> list[str]:
    """``--params C,max_iter`` -> ['C', 'max_iter'], each a valid variable name."""
    names = [n.strip() for n in (value or "").split(",") if n.strip()]
    bad = [n for n in names if not n.isidentifier()]
    if bad:
        raise UsageError(f"{option}: {bad[0]!r} is not a variable name; type e.g. {option} C,max_iter")
    return names


def split_list(value: str | None) -> list[str] | None:
    """``--columns a,b`` -> ['a', 'b'] (None when not given)."""
    return [c.strip() for c in value.split(",") if c.strip()] if value else None


def quoted(shell, spec: str, label: str, *, refs_ok=True):
    """A reference string (``run:...``, ``deployment:...``, ``models:/...``) as it is, else the notebook
    variable it names."""
    from .. import refs

    if refs_ok and refs.is_ref(spec):
        return spec
    return variable(shell, spec, label)


# -- argparse types: numbers are range-checked by the parser ------------------------------------------------
def _ranged(kind, low, high, what):
    def convert(text):
        try:
            value = kind(text)
        except ValueError:
            raise ArgumentTypeError(f"{text!r} is not {what}") from None
        if not low <= value <= high:
            raise ArgumentTypeError(f"{text} is out of range: give {what} from {low:g} to {high:g}")
        return value

    convert.__name__ = what
    return convert


port = _ranged(int, 1, 65535, "a port")
positive_int = _ranged(int, 1, 10**9, "a whole number")
seconds = _ranged(float, 0.001, 7 * 86400, "seconds")
share = _ranged(float, 0.0001, 1.0, "a share")
replicas = _ranged(int, 0, 10_000, "a number of replicas")
threshold = _ranged(float, 0.0, 1e9, "a threshold")
