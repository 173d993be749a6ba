"""Deploy targets: where ``serving.deploy`` puts a model (``local``, ``seldon``, ``kserve``, or one that
another package declares in the entry-point group ``mlops_magics.deploy_targets``)."""

from __future__ import annotations

from typing import ClassVar

from ..registry import Registry

TARGETS = Registry(
    "mlops_magics.deploy_targets",
    {
        "local": "mlops_magics.serving.local:LocalTarget",
        "seldon": "mlops_magics.serving.seldon:SeldonTarget",
        "kserve": "mlops_magics.serving.kserve:KServeTarget",
    },
    "--target",
)


class Target:
    """Base of deploy targets. ``deploy`` returns a result object (a deployment, or manifests)."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    options: ClassVar[tuple[str, ...]] = ()  # keyword options of deploy() this target takes

    def deploy(self, model_uri: str, name: str, *, config=None, log=print, **options):  # pragma: no cover
        raise NotImplementedError
