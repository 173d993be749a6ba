"""The IPython face. Each magic lives in its own module, registered lazily: ``%load_ext`` imports none
of them, and a module (with its backend) loads the first time one of its magics is used."""

from __future__ import annotations

# magic name -> (module that registers it, kind)
LAZY_MAGICS = {
    "mlops": ("mlops_magics.magics.mlops", "line"),
    "track": ("mlops_magics.magics.track", "line_cell"),
    "feature": ("mlops_magics.magics.feature", "line_cell"),
    "deploy": ("mlops_magics.magics.deploy", "line"),
    "drift": ("mlops_magics.magics.drift", "line"),
}


def register(shell) -> None:
    mman = shell.magics_manager
    for name, (module, kind) in LAZY_MAGICS.items():
        mman.register_lazy(name, module, kind)


def unregister(shell) -> None:
    mman = shell.magics_manager
    for name, (module, _kind) in LAZY_MAGICS.items():
        for table in mman.magics.values():
            table.pop(name, None)
        mman.lazy_magics.pop(name, None)
        getattr(mman, "_loaded_lazy", set()).discard(module)
        shell.extension_manager.loaded.discard(module)
    mman.registry = {k: v for k, v in mman.registry.items() if not type(v).__module__.startswith(__name__)}
