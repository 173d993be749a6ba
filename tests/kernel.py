"""A real ipykernel for tests that need a live front-end's view of outputs."""

from __future__ import annotations

import contextlib
import queue

from jupyter_client.manager import start_new_kernel


@contextlib.contextmanager
def live_kernel(cwd, env=None):
    import os

    km, kc = start_new_kernel(kernel_name="python3", cwd=str(cwd), env={**os.environ, **(env or {})})
    try:
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def execute(kc, code: str, timeout: float = 120) -> tuple[list[dict], dict]:
    """Run code; return the iopub output messages' contents (with msg_type) and the execute reply."""
    msg_id = kc.execute(code)
    outputs = []
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no output within {timeout} s for {code!r}") from None
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind == "status" and msg["content"]["execution_state"] == "idle":
            break
        if kind in ("display_data", "execute_result", "stream", "error"):
            outputs.append({"msg_type": kind, **msg["content"]})
    reply = kc.get_shell_msg(timeout=timeout)["content"]
    return outputs, reply
