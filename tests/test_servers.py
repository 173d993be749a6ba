"""servers: what this process started, as the kernel sees it."""

from __future__ import annotations

import sys
import time

import psutil

from mlops_magics import servers

# The main thread ends while another still runs: the process is a zombie that cannot be reaped yet, the
# state a SIGKILLed multi-threaded server (MLServer) is in for a moment.
LEADER_GONE = """
import ctypes, threading, time
threading.Thread(target=time.sleep, args=(3,)).start()
time.sleep(0.3)
ctypes.CDLL(None).pthread_exit(None)
"""


def test_a_zombie_server_is_not_running_and_its_name_is_free(tmp_path):
    """CI caught `%deploy` refusing a name whose server had been killed ("already running")."""
    port = servers.free_port("127.0.0.1")
    server = servers.start("leader-gone", [sys.executable, "-c", LEADER_GONE], host="127.0.0.1", port=port,
                           log_path=tmp_path / "log", ready=lambda s: True, timeout=10)  # fmt: skip
    deadline = time.monotonic() + 10
    while psutil.Process(server.pid).status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.05)
    assert psutil.Process(server.pid).status() == psutil.STATUS_ZOMBIE
    assert servers.get("leader-gone") is None
    assert not psutil.pid_exists(server.pid)  # reaped, not left a zombie
