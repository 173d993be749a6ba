"""One step: papermill runs a notebook in a fresh kernel and says plainly how it ended.

papermill changes the process's working directory for ``cwd`` (``os.chdir``), which races when steps
run in threads; the ``mlops_magics`` engine instead hands ``cwd`` and ``env`` to the kernel it starts.
A magic's ``UsageError`` stops papermill at that cell but does not raise (papermill #501): the cell's
``papermill.exception`` marker is read back and reported as the failure it is.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

ENGINE = "mlops_magics"


@dataclasses.dataclass
class StepOutcome:
    name: str
    status: str  # FINISHED | FAILED | SKIPPED
    output: Path | None = None
    seconds: float = 0.0
    kind: str | None = None  # cell | magic | kernel | timeout | error | skipped
    error: str | None = None  # one line
    cell: int | None = None  # execution count (In [N]) of the failing cell
    cell_source: str = ""  # its first line
    run_id: str | None = None
    parameters: dict = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "FINISHED"


def _register() -> None:
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.exceptions import PapermillException
    from papermill.utils import merge_kwargs, remove_args

    try:
        papermill_engines.get_engine(ENGINE)
        return
    except PapermillException:  # not registered yet
        pass

    class KernelEnvEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                     stderr_file=None, start_timeout=60, execution_timeout=None,
                                     kernel_cwd=None, kernel_env=None, kernel_io=None, **kwargs):  # fmt: skip
            kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
            final = merge_kwargs(kwargs, timeout=execution_timeout, startup_timeout=start_timeout,
                                 kernel_name=kernel_name, log_output=log_output, stdout_file=stdout_file,
                                 stderr_file=stderr_file)  # fmt: skip
            return PapermillNotebookClient(nb_man, **final).execute(
                cwd=kernel_cwd, env=kernel_env, stdout=kernel_io, stderr=kernel_io
            )

    papermill_engines.register(ENGINE, KernelEnvEngine)


def preload() -> None:
    """Import papermill and register the engine now (half a second or more) rather than in a step."""
    _register()


def run_notebook(name: str, source: Path, output: Path, parameters: dict, *, cwd: Path, env: dict,
                 timeout: float | None = None, progress_bar=False) -> StepOutcome:  # fmt: skip
    """Execute ``source`` (already prepared: parameters cell tagged) into ``output``; never raises for
    what the notebook did, only for a broken set-up."""
    _register()
    started = time.perf_counter()
    outcome = StepOutcome(name=name, status="FINISHED", output=output, parameters=parameters)
    with open(output.with_suffix(".kernel.log"), "ab") as log:  # the kernel's own stderr, not ours
        _execute(outcome, source, output, parameters, cwd, {**os.environ, **env}, timeout, progress_bar, log)
    outcome.seconds = time.perf_counter() - started
    if outcome.kind:
        outcome.status = "FAILED"
        locate(outcome)
    return outcome


def _execute(outcome, source, output, parameters, cwd, env, timeout, progress_bar, log) -> None:
    import papermill as pm
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    try:
        pm.execute_notebook(str(source), str(output), parameters=parameters, engine_name=ENGINE,
                            kernel_name="python3", progress_bar=progress_bar, execution_timeout=timeout,
                            kernel_cwd=str(cwd), kernel_env=env, kernel_io=log)  # fmt: skip
        nb = pm.iorw.load_notebook_node(str(output))
        if nb.metadata.get("papermill", {}).get("exception"):
            outcome.kind = "magic"  # stopped at a cell but did not raise (papermill #501)
    except pm.PapermillExecutionError as exc:
        # a UsageError (printed, not raised) reaches papermill as a bare CellExecutionError
        outcome.kind = "magic" if exc.ename == "CellExecutionError" and not exc.evalue else "cell"
        outcome.error = f"{exc.ename}: {_first_line(exc.evalue)}"
    except CellTimeoutError:
        outcome.kind = "timeout"
        outcome.error = f"a cell ran longer than the {timeout:g} s timeout"
    except DeadKernelError as exc:
        outcome.kind = "kernel"
        outcome.error = f"the kernel died ({_first_line(exc) or 'no reason given'})"
    except Exception as exc:  # the kernel did not start, the notebook could not be written, ...
        outcome.kind = "error"
        outcome.error = f"{type(exc).__name__}: {_first_line(exc)}"


def _first_line(text) -> str:
    text = str(text).strip()
    return text.splitlines()[0] if text else ""


def locate(outcome: StepOutcome) -> None:
    """The failing cell in the kept output notebook: the one papermill marked, else the last one that
    started (a dead kernel or a timeout marks none); a magic's UsageError is read from its stderr."""
    import nbformat

    try:
        nb = nbformat.read(outcome.output, as_version=4)
    except (OSError, ValueError):
        return
    started = [c for c in nb.cells if c.get("metadata", {}).get("papermill", {}).get("start_time")]
    marked = [c for c in started if c.metadata.papermill.get("exception")]
    cell = (marked or started or [None])[-1]
    if cell is None:
        return
    outcome.cell = cell.get("execution_count")
    outcome.cell_source = _first_line(cell.source)[:80]
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if outcome.error is None and errors:
        outcome.error = f"{errors[-1].get('ename')}: {_first_line(errors[-1].get('evalue', ''))}"
    if outcome.kind == "magic":
        text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stderr")
        outcome.error = _first_line(text.strip().splitlines()[-1] if text.strip() else "") or "a magic failed"


def describe(outcome: StepOutcome) -> str:
    """One line: step, cell and what went wrong."""
    where = f" at cell In [{outcome.cell}] `{outcome.cell_source}`" if outcome.cell is not None else ""
    return f"step {outcome.name} failed{where}: {outcome.error or outcome.kind}"
