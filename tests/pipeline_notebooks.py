"""Small real notebooks for the pipeline tests, written where a test wants them."""

from __future__ import annotations

from pathlib import Path

import nbformat

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def notebook(path: Path, parameters: str | None, *cells: str, tag: bool = True) -> Path:
    """A notebook whose first code cell is ``parameters`` (tagged, or marked ``# parameters`` when
    ``tag`` is False), then ``cells``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = KERNELSPEC
    if parameters is not None:
        cell = nbformat.v4.new_code_cell(parameters if tag else "# parameters\n" + parameters)
        if tag:
            cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def executed_values(path: Path) -> dict:
    """``name = value`` lines printed by cells of an executed notebook (``print(f"{x=}")``)."""
    nb = nbformat.read(path, as_version=4)
    out = {}
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            for line in o.get("text", "").splitlines():
                if "=" in line:
                    key, _, value = line.partition("=")
                    out[key.strip()] = value.strip()
    return out


def started_ended(path: Path) -> tuple[str, str]:
    """papermill's start and end time of an executed notebook (ISO strings)."""
    meta = nbformat.read(path, as_version=4).metadata.papermill
    return meta["start_time"], meta["end_time"]
