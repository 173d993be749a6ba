"""Server processes this kernel starts (MLflow UI, MLServer, Evidently UI): start, wait until ready,
stop — and never leave one behind.

Each server runs in its own session (process group) with its output in a log file. If it exits or is
not ready within the timeout it is stopped and a :class:`ServerError` carries the log tail. Every server
still running is stopped on ``%unload_ext``, kernel shutdown and interpreter exit.
"""

from __future__ import annotations

import atexit
import os
import re
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import procs
from .display import Card, Result
from .errors import ServerError, UserInputError

_RUNNING: dict[str, tuple[Server, subprocess.Popen, int | None]] = {}  # server, process, owner pipe end


@dataclass
class Server(Result):
    name: str
    cmd: list[str]
    host: str
    port: int
    log_path: Path
    pid: int = 0
    started: float = field(default_factory=time.time)
    status: str = "RUNNING"  # RUNNING | STOPPED

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def alive(self) -> bool:
        return procs.alive(self.pid)

    def card(self) -> Card:
        facts = [("url", self.url), ("pid", self.pid), ("log", str(self.log_path))]
        return Card(self.name, facts, status=self.status, links=[(self.name, self.url)] if self.status == "RUNNING"
                    else [], kind="server")  # fmt: skip


def check_port(port: int | None) -> int | None:
    """A port a user gave: 1 to 65535 (0 or None: pick a free one)."""
    if port is not None and not 0 <= int(port) <= 65535:
        raise UserInputError(f"--port {port}: a port is a number from 1 to 65535")
    return port or None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        return s.connect_ex((host, port)) == 0


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b:? ?.*$")


def first_error(path: Path) -> str:
    """The first exception line of a log (the root cause of a chain), or ''."""
    try:
        for line in Path(path).read_text(errors="replace").splitlines():
            if _EXCEPTION_LINE.match(line.strip()) and not line.startswith("During handling"):
                return line.strip()
    except OSError:
        pass
    return ""


def _why(detail: str, log_path: Path) -> str:
    cause = first_error(log_path)
    return f"{detail}: {cause}" if cause else detail


def http_ok(url: str, timeout: float = 2.0) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def _die_with_owner(cmd: list[str]) -> list[str]:
    """``setpriv --pdeathsig TERM``: the kernel stops the server when this process dies, even by SIGKILL.

    The signal fires when the *thread* that started it ends, so it is used only from the main thread
    (where magics run); elsewhere, and for what a server starts itself, the owner pipe (below) and
    ``%unload_ext``/exit hooks remain."""
    import shutil
    import threading

    setpriv = shutil.which("setpriv")
    if setpriv is None or threading.current_thread() is not threading.main_thread():
        return cmd
    return [setpriv, "--pdeathsig", "TERM", *cmd]


def start(
    name: str,
    cmd: list[str],
    *,
    host: str,
    port: int,
    log_path: Path,
    ready: Callable[[Server], bool],
    timeout: float = 120,
    env: dict | None = None,
    cwd: str | os.PathLike | None = None,
    detach: bool = False,
    owner_pipe: bool = False,
    on_start: Callable[[Server], None] | None = None,
) -> Server:
    """Start ``cmd`` and wait until ``ready(server)`` is true; stop it and raise if it never is, or if
    the wait is interrupted (Ctrl-C): nothing half-started is left.

    The server dies with this process (however it ends) unless ``detach``: through PR_SET_PDEATHSIG,
    and with ``owner_pipe`` through a pipe whose other end it watches (``MLOPS_OWNER_FD``; the server's
    code must read it, as the MLServer runtime does). ``on_start`` is called once the process exists.
    """
    check_port(port)
    if name in _RUNNING and _RUNNING[name][0].alive():
        raise ServerError(
            f"start {name}", f"a server named {name!r} is already running at {_RUNNING[name][0].url}"
        )
    if port_in_use(host, port):
        raise ServerError(
            f"start {name}", f"port {port} on {host} is already in use; choose another with --port"
        )
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **(env or {})}
    pass_fds, owner_end = (), None
    if owner_pipe and not detach:
        server_end, owner_end = os.pipe()  # the server reads EOF on its end once every owner end closed
        pass_fds, env["MLOPS_OWNER_FD"] = (server_end,), str(server_end)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            cmd if detach else _die_with_owner(cmd), stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, env=env, cwd=cwd, start_new_session=True, pass_fds=pass_fds,
        )  # fmt: skip
    for fd in pass_fds:
        os.close(fd)
    server = Server(name, list(cmd), host, port, log_path, proc.pid)
    _RUNNING[name] = (server, proc, owner_end)
    try:
        if on_start is not None:
            on_start(server)
        _wait_ready(server, proc, ready, timeout)
    except BaseException:  # not ready, a failed check, or Ctrl-C: nothing is left running
        stop(name)
        raise
    if detach:  # from now on, only its record knows it: it outlives this process
        _RUNNING.pop(name, None)
        if owner_end is not None:
            os.close(owner_end)
    return server


def _wait_ready(server: Server, proc: subprocess.Popen, ready, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        code = proc.poll()
        if code is not None:
            raise ServerError(f"start {server.name}", _why(f"the server exited with code {code}", server.log_path),
                              log_tail(server.log_path))  # fmt: skip
        if ready(server):
            return
        if time.monotonic() > deadline:
            raise ServerError(f"start {server.name}", _why(f"not ready within {timeout:.0f} s", server.log_path),
                              log_tail(server.log_path))  # fmt: skip
        time.sleep(0.25)


def stop(name: str, grace: float = 10) -> Server | None:
    """Stop a server and all its children; the server (now STOPPED), or None if none was running."""
    entry = _RUNNING.pop(name, None)
    if entry is None:
        return None
    server, proc, owner_end = entry
    procs.terminate_tree(proc.pid, grace, group=True)  # its own session: the group is it and its workers
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
    if owner_end is not None:
        os.close(owner_end)
    server.status = "STOPPED"
    return server


def running() -> dict[str, Server]:
    """The servers this process started that are still alive (dead ones are dropped).

    A killed multi-threaded server can be a zombie that is not yet reapable (its other threads still
    exiting): ``poll()`` says running while it is gone, so it is checked by its state too and reaped."""
    for name, (_server, proc, owner_end) in list(_RUNNING.items()):
        if proc.poll() is None and not procs.alive(proc.pid):
            try:
                proc.wait(timeout=10)  # the last threads of a killed process end in a moment
            except subprocess.TimeoutExpired:
                pass
        if proc.returncode is not None or not procs.alive(proc.pid):
            _RUNNING.pop(name)
            if owner_end is not None:
                os.close(owner_end)
    return {name: entry[0] for name, entry in _RUNNING.items()}


def get(name: str) -> Server | None:
    return running().get(name)


def stop_all(_ip=None) -> list[str]:
    names = list(_RUNNING)
    for name in names:
        stop(name)
    return names


atexit.register(stop_all)
