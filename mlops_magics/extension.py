"""What ``%load_ext`` / ``%unload_ext`` do: the settings object and the lazy magic declarations.

Hooks that other parts need on load or unload (stopping local servers, marking runs of dead kernels)
register themselves in ``ON_UNLOAD`` / ``ON_LOAD``: cheap callables, each guarded so that one broken
hook only warns.
"""

from __future__ import annotations

import warnings

from . import magics, servers
from .config import MLOps
from .magics import complete
from .monitoring import live
from .serving import deployments
from .tracking import sweep

ON_LOAD: list = [sweep.on_load]  # runs of kernels that died are marked KILLED (stdlib sqlite3 only)
# no watch thread or server outlives the extension; deployments it owns are recorded STOPPED first
ON_UNLOAD: list = [live.stop_all, deployments.stop_owned, servers.stop_all]


def _settings(ip) -> MLOps | None:
    return next((c for c in ip.configurables if isinstance(c, MLOps)), None)


def load(ip) -> None:
    if _settings(ip) is None:
        ip.configurables.append(MLOps(parent=ip))
    magics.register(ip)
    complete.install(ip)
    _run(ON_LOAD, ip)


def unload(ip) -> None:
    _run(ON_UNLOAD, ip)
    magics.unregister(ip)
    complete.uninstall(ip)
    settings = _settings(ip)
    if settings is not None:
        ip.configurables.remove(settings)


def _run(hooks, ip) -> None:
    for hook in list(hooks):
        try:
            hook(ip)
        except Exception as exc:  # one broken hook must not stop the extension loading
            warnings.warn(f"mlops_magics: {getattr(hook, '__name__', hook)} failed: {exc}", stacklevel=2)
