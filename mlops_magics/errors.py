"""One exception hierarchy for the plain-Python API.

The API modules never import IPython. A user mistake is a :class:`UserInputError`;
the magics turn it into IPython's plain ``UsageError`` (one line, no traceback). A
failing backend call is a :class:`BackendError` that names the call; in IPython it
renders as one line too (``_render_traceback_``) unless ``MLOps.short_errors`` is off.
"""

from __future__ import annotations


def shown(value, limit: int = 60) -> str:
    """A value as a message quotes it: its repr, cut to ``limit`` characters (a name of 5,000 characters
    must not make the message unreadable)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


class MLOpsError(Exception):
    """Base of every error this package raises on purpose."""


class UserInputError(MLOpsError, ValueError):
    """The user asked for something that cannot be done; the message says what to type instead.

    Always one line: a line break that a typed value carried into the message is shown escaped."""

    def __init__(self, message: str = ""):
        super().__init__(one_line(str(message)))


_BREAKS = {ord(c): repr(c)[1:-1] for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}


def one_line(text: str) -> str:
    """``text`` with every character that would break the line (``str.splitlines``) escaped."""
    return text.translate(_BREAKS)


class BackendError(MLOpsError):
    """A call into Feast, MLflow, MLServer, Evidently, papermill or kfp failed.

    ``call`` names the failing call, e.g. ``"mlflow.log_metric"``.
    """

    short = True  # class-wide switch, set from MLOps.short_errors by the extension

    def __init__(self, call: str, cause: BaseException | str):
        self.call = call
        self.cause = cause
        detail = cause if isinstance(cause, str) else f"{type(cause).__name__}: {cause}"
        first_line = str(detail).strip().splitlines()[0] if str(detail).strip() else type(cause).__name__
        super().__init__(f"{call} failed: {first_line}")

    def _render_traceback_(self):
        """IPython shows this instead of the traceback (see InteractiveShell.showtraceback)."""
        if not BackendError.short:
            raise NotImplementedError  # IPython falls back to the full traceback
        return [f"{type(self).__name__}: {self}"]


class ServerError(BackendError):
    """A server this package started did not become ready, or died; carries the log tail."""

    def __init__(self, call: str, cause: BaseException | str, log_tail: str = ""):
        super().__init__(call, cause)
        self.log_tail = log_tail

    def _render_traceback_(self):
        lines = super()._render_traceback_()
        if self.log_tail:
            lines += ["--- last lines of the server log ---", *self.log_tail.rstrip().splitlines()]
        return lines


class PipelineFailed(MLOpsError):
    """A pipeline step failed (``%mlops run``): a real error, so a notebook running it fails too."""

    def __init__(self, failures: list[str]):
        self.failures = failures
        super().__init__("; ".join(failures) or "the pipeline failed")

    def _render_traceback_(self):
        return [f"PipelineFailed: {f}" for f in self.failures]


class DriftDetected(MLOpsError):
    """``%drift --fail``: drift was found. A real error (not a UsageError), so papermill and CI fail on it."""

    def __init__(self, message: str, result=None):
        super().__init__(message)
        self.result = result

    def _render_traceback_(self):
        return [f"DriftDetected: {self}"]
