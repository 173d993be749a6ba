"""Notebooks as pipeline steps: a DAG of papermill runs (local) or a compiled Kubeflow pipeline.

``spec`` reads a pipeline file, ``params`` a notebook's parameters cell, ``engine`` runs one step,
``local`` runs the DAG with MLflow parent/child runs, ``record`` and ``reproduce`` make a run
repeatable, ``kfp`` compiles the same DAG for Kubeflow Pipelines.
"""
