"""The workspace as services a team shares: ``serve`` starts the field's own servers over a workspace
(MLflow, Feast's registry / offline / online servers, the Evidently UI), ``discovery`` finds them from
the one setting a notebook needs (``MLOps.server`` / ``MLOPS_SERVER``), ``push`` copies a personal
workspace into them."""
