"""Pipeline engines: what runs a pipeline (``local``: papermill on this machine; ``kfp``: compile, and
submit to Kubeflow Pipelines; ``kfp-local``: ``kfp.local`` on this machine), or one that another package
declares in the entry-point group ``mlops_magics.pipeline_engines``."""

from __future__ import annotations

from typing import ClassVar

from ..registry import Registry

ENGINES = Registry(
    "mlops_magics.pipeline_engines",
    {
        "local": "mlops_magics.pipelines.local:LocalEngine",
        "kfp": "mlops_magics.pipelines.kfp:KfpEngine",
        "kfp-local": "mlops_magics.pipelines.kfp:KfpLocalEngine",
    },
    "--engine",
)


class Engine:
    """Base of pipeline engines: ``run`` returns a :class:`PipelineResult` and never raises for a
    failing step (see ``result.ok``), only for input that cannot run."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    options: ClassVar[tuple[str, ...]] = ()

    def run(
        self, target, params: dict, *, progress: bool = True, log=print, config=None, **options
    ):  # pragma: no cover
        raise NotImplementedError
