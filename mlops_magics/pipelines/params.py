"""A notebook's parameters: the cell papermill would use, its defaults, and checked values.

The parameters cell is the code cell tagged ``parameters`` (papermill), or else the first code cell
whose first line is ``# parameters`` (editors without a tag UI; papermill #395). Given values are
JSON literals (a bare word is a string) and must match the type of the notebook's default.
"""

from __future__ import annotations

import ast
import copy
import json
from pathlib import Path

from ..errors import UserInputError

TAG = "parameters"


def load(path: str | Path):
    import nbformat

    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"no notebook at {path}")
    try:
        return nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises several kinds for a file that is not a notebook
        raise UserInputError(f"{path} is not a notebook ({type(exc).__name__}: {exc})") from None


def parameters_cell(nb) -> int | None:
    """Index of the parameters cell, or None."""
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    for i, cell in code:
        if TAG in cell.get("metadata", {}).get("tags", []):
            return i
    for i, cell in code:
        lines = cell.source.lstrip().splitlines()
        if (
            lines
            and lines[0].strip().lower().lstrip("#").strip() == TAG
            and lines[0].lstrip().startswith("#")
        ):
            return i
    return None


def defaults(nb) -> dict:
    """``{name: default}`` from the parameters cell; a default that is not a literal reads as ``...``."""
    index = parameters_cell(nb)
    if index is None:
        return {}
    try:
        tree = ast.parse(nb.cells[index].source)
    except SyntaxError as exc:
        raise UserInputError(f"the parameters cell does not parse: {exc.msg} (line {exc.lineno})") from None
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name):
            try:
                out[target.id] = ast.literal_eval(value)
            except ValueError:
                out[target.id] = ...
    return out


def prepared(nb):
    """A copy whose parameters cell carries the ``parameters`` tag, so papermill injects after it."""
    index = parameters_cell(nb)
    nb = copy.deepcopy(nb)
    if index is not None:
        tags = nb.cells[index].setdefault("metadata", {}).setdefault("tags", [])
        if TAG not in tags:
            tags.append(TAG)
    return nb


def parse_value(text: str):
    """A command-line value: a JSON literal, else the text itself as a string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _type_name(value) -> str:
    return {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "dict"}.get(
        type(value), type(value).__name__
    )


def coerce(name: str, value, default, where: str):
    """``value`` checked against the type of ``default``; a raw string is re-read for a str default."""
    if default is ... or default is None or value is None:
        return value
    if isinstance(default, str):
        return value if isinstance(value, str) else json.dumps(value)
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise UserInputError(
            f"parameter {name} of {where} is {_type_name(default)} (default {default!r}), "
            f"not {_type_name(value)} {value!r}: type e.g. -p {name} {json.dumps(default)}"
        )
    return value


def parse_overrides(pairs) -> dict:
    """``[("C", "0.5"), ("train.name", "x")]`` (``-p NAME VALUE`` pairs) -> ``{"C": 0.5, "train.name": "x"}``."""
    return {key: parse_value(value) for key, value in pairs}
