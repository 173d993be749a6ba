"""Notebooks as pipeline steps: a DAG of papermill runs (local) or a compiled Kubeflow pipeline.

``run`` is the entry point (``engines`` says which engines exist); ``spec`` reads a pipeline file,
``params`` a notebook's parameters cell, ``step`` runs one step, ``local`` runs the DAG with MLflow
parent/child runs, ``record`` and ``reproduce`` make a run repeatable, ``kfp`` compiles the same DAG for
Kubeflow Pipelines.
"""

from .api import run
from .reproduce import reproduce
from .results import PipelineResult, Reproduction

__all__ = ["PipelineResult", "Reproduction", "reproduce", "run"]
