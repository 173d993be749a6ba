"""``run``: one entry point for every engine, as ``%mlops run`` and ``mlops-magics run`` call it."""

from __future__ import annotations

from .engines import ENGINES
from .results import PipelineResult


def run(target, params: dict | None = None, *, engine: str = "local", progress: bool = True, log=print,
        config=None, **options) -> PipelineResult:  # fmt: skip
    """Run a notebook or a pipeline file (``.yaml``) with ``params`` (``{"name": value}`` for every step
    that declares it, ``{"step.name": value}`` for one step) on ``engine``.

    Options go to the engine, which refuses those it does not take: ``parallel``, ``timeout``,
    ``experiment`` (local); ``compile_to``, ``host``, ``base_image``, ``experiment`` (kfp);
    ``compile_to`` (kfp-local). Always a :class:`PipelineResult`; a failing step does not raise.
    """
    options = {k: v for k, v in options.items() if v is not None}
    engine_cls = ENGINES.get(engine)
    ENGINES.check_options(engine_cls, options)
    return engine_cls().run(target, dict(params or {}), progress=progress, log=log, config=config, **options)
