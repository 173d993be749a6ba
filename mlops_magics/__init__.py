"""mlops_magics: the production loop of a model from a notebook.

``%load_ext mlops_magics`` registers ``%mlops``, ``%%feature``, ``%%track``, ``%deploy`` and ``%drift``
lazily: it imports none of Feast, MLflow, Evidently, papermill or kfp.
"""

from ._version import __version__

__all__ = ["__version__", "load_ipython_extension", "unload_ipython_extension"]


def load_ipython_extension(ip):
    from . import extension

    extension.load(ip)


def unload_ipython_extension(ip):
    from . import extension

    extension.unload(ip)
