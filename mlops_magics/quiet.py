"""The libraries do not talk over the cards: what Feast, MLflow and Evidently print or warn during one of
their calls is captured, and shown only when it matters — when the call fails, or always with
``%config MLOps.verbose = True``. Used at the call sites that make the noise (materialize, apply,
downloads, Evidently's report), never around the user's own code."""

from __future__ import annotations

import contextlib
import io
import sys
import warnings


@contextlib.contextmanager
def quiet():
    import threading

    from .config import get_config

    # redirecting sys.stdout is process-wide: from a background thread (a drift watch) it would swallow
    # what the user's cells print meanwhile, so only the main thread captures
    if get_config().verbose or threading.current_thread() is not threading.main_thread():
        yield
        return
    captured = io.StringIO()
    try:
        with (
            contextlib.redirect_stdout(captured),
            contextlib.redirect_stderr(captured),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore")
            yield
    except BaseException:
        if captured.getvalue().strip():  # the libraries' own account of the failure
            sys.stderr.write(captured.getvalue())
        raise
