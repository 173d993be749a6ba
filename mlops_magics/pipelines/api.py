"""``run``: one entry point for the three engines, as the CLI and ``%mlops run`` call it."""

from __future__ import annotations

from ..errors import UserInputError


def run(target, overrides: dict | None = None, *, engine: str = "local", parallel: int = 1,
        timeout: float | None = None, experiment: str | None = None, compile_to: str | None = None,
        host: str | None = None, base_image: str | None = None, progress: bool = True, log=print,
        config=None):  # fmt: skip
    """The local engine returns a :class:`PipelineResult`; ``kfp`` compiles (and submits with
    ``host``); ``kfp-local`` runs the compiled pipeline with ``kfp.local``."""
    if engine == "local":
        if compile_to or host or base_image:
            raise UserInputError("--compile, --host and --base-image go with --engine kfp")
        return _local(target, overrides, parallel=parallel, timeout=timeout, experiment=experiment,
                      progress=progress, log=log, config=config)  # fmt: skip
    from . import kfp

    if engine == "kfp":
        if not (compile_to or host):
            raise UserInputError(
                "--engine kfp needs --compile FILE.yaml or --host URL (or use --engine kfp-local)"
            )
        return kfp.compile_and_submit(target, overrides, compile_to=compile_to, host=host,
                                      base_image=base_image, experiment=experiment, log=log)  # fmt: skip
    if engine == "kfp-local":
        if host:
            raise UserInputError("--host submits to a cluster: use --engine kfp")
        return kfp.run_local(target, overrides, compile_to=compile_to, config=config, log=log)
    raise UserInputError(f"unknown engine {engine!r}: use local, kfp or kfp-local")


def _local(target, overrides, **kwargs):
    from .local import run as run_local

    return run_local(target, overrides, **kwargs)
