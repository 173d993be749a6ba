"""What every magic shares: error conversion, ``-o NAME``, subcommand dispatch."""

from __future__ import annotations

import functools
import shlex

from IPython.core.error import UsageError
from IPython.core.magic_arguments import MagicArgumentParser, parse_argstring

from ..config import get_config
from ..errors import BackendError, UserInputError


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


def store(shell, name: str | None, value):
    """``-o NAME``: put the result object in the user namespace, as ``%%capture NAME`` does.

    Returns ``value``, so a subcommand can end with ``return store(shell, args.output, result)``."""
    if name:
        if not name.isidentifier():
            raise UsageError(f"-o takes a variable name, not {name!r}: type e.g. -o result")
        if value is not None:
            shell.user_ns[name] = value
    return value


def parse(magic_func, line: str, name: str):
    """``parse_argstring`` whose error also says where the usage is."""
    try:
        return parse_argstring(magic_func, line)
    except UsageError as exc:
        raise UsageError(f"%{name}: {exc}; type %{name}? for usage") from None


def variable(shell, name: str, label: str):
    """The notebook variable ``name``, or a UsageError saying ``label`` names none."""
    if name not in shell.user_ns:
        raise UsageError(f"{label}: no such variable in the notebook")
    return shell.user_ns[name]


def subparser(prog: str, description: str = "", output: bool = True) -> MagicArgumentParser:
    """An argparse parser whose errors are UsageErrors, for one subcommand (``%track log ...``).

    It also takes the magic's shared ``-o NAME``, so ``%mlops init PATH -o ws`` works as typed.
    """
    parser = MagicArgumentParser(prog=prog, description=description, add_help=False)
    if output:
        parser.add_argument("-o", "--output", metavar="NAME", help="store the result object in this variable")
    return parser


def parse_sub(parser: MagicArgumentParser, rest: list[str], parent_args=None):
    """Parse a subcommand's words; ``-o`` given before the subcommand counts too."""
    try:
        sub = parser.parse_args(rest)
    except UsageError as exc:
        raise UsageError(f"{parser.prog}: {exc}") from None
    if parent_args is not None and getattr(sub, "output", None) is None:
        sub.output = getattr(parent_args, "output", None)
    return sub


def split(line: str) -> list[str]:
    try:
        return shlex.split(line, posix=True)
    except ValueError as exc:
        raise UsageError(f"cannot parse {line!r}: {exc}") from None


def dispatch(table: dict, command: str, magic: str, *args):
    """Call the subcommand ``command`` from ``table``, or say which ones exist."""
    fn = table.get(command)
    if fn is None:
        raise UsageError(f"%{magic} has no subcommand {command!r}; use one of: {', '.join(sorted(table))}")
    return fn(*args)


def run_cell_body(shell, cell: str):
    """Run a cell's code in the user namespace (magics inside it work); return its last expression's
    value, as a normal cell would show it. Tracebacks show the cell's own lines."""
    import ast

    source = shell.transform_cell(cell)
    tree = ast.parse(source)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    filename = shell.compile.cache(source)
    exec(compile(tree, filename, "exec"), shell.user_ns)
    return eval(compile(last, filename, "eval"), shell.user_ns) if last is not None else None


def csv_names(value: str | None, option: str) -> list[str]:
    """``--params C,max_iter`` -> ['C', 'max_iter'], each a valid variable name."""
    names = [n.strip() for n in (value or "").split(",") if n.strip()]
    bad = [n for n in names if not n.isidentifier()]
    if bad:
        raise UsageError(f"{option}: {bad[0]!r} is not a variable name; type e.g. {option} C,max_iter")
    return names
