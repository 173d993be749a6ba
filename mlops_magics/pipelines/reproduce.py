"""``reproduce RUN_ID``: run a recorded pipeline again with the recorded parameters, then say metric
by metric whether the new run matches, and what changed (code, data, packages) since the first one."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

from .. import schema
from ..config import environ
from ..errors import UserInputError
from .results import Reproduction


def pipeline_run(run_id: str, config=None):
    """The pipeline run behind ``run_id`` (the pipeline run itself, one of its steps, or a run a step
    tracked)."""
    from ..tracking.store import client

    c = client(config)
    try:
        run = c.get_run(run_id)
    except Exception:
        raise UserInputError(f"no run {run_id} in {c.tracking_uri.split('?')[0]}") from None
    tags = run.data.tags
    if tags.get(schema.KIND) != "pipeline":
        parent = tags.get(schema.PIPELINE_RUN)
        if not parent:
            raise UserInputError(
                f"run {run_id} was not made by a pipeline; reproduce takes the run id that "
                "'mlops-magics run' printed"
            )
        run = c.get_run(parent)
    return run


def step_metrics(c, parent_id: str) -> dict[str, dict[str, float]]:
    from ..tracking.store import quote

    steps = c.search_runs([c.get_run(parent_id).info.experiment_id],
                          filter_string=f"tags.`{schema.PIPELINE_RUN}` = {quote(parent_id)} and "
                                        f"tags.`{schema.KIND}` = 'pipeline_step'", max_results=1000)  # fmt: skip
    return {r.data.tags[schema.PIPELINE_STEP]: dict(r.data.metrics) for r in steps}


def reproduce(run_id: str, *, rtol: float = 1e-6, parallel: int = 1, progress: bool = True, log=print,
              config=None) -> Reproduction:  # fmt: skip
    from ..tracking.store import client
    from . import record as R
    from .local import run

    c = client(config)
    original = pipeline_run(run_id, config)
    # a progress bar for one small JSON file is noise
    with tempfile.TemporaryDirectory() as tmp, environ(MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="false"):
        try:
            rec = json.loads(
                Path(c.download_artifacts(original.info.run_id, "pipeline_record.json", tmp)).read_text()
            )
        except Exception:
            raise UserInputError(
                f"run {original.info.run_id} has no pipeline_record.json to reproduce from"
            ) from None
    if not Path(rec["source"]).exists():
        raise UserInputError(f"cannot reproduce: the pipeline source {rec['source']} is gone")
    overrides = {
        f"{step}.{k}": v for step, body in rec["steps"].items() for k, v in body["parameters"].items()
    }
    try:
        new = run(rec["source"], overrides, parallel=parallel, progress=progress, log=log, config=config,
                  experiment=c.get_experiment(original.info.experiment_id).name,
                  tags={schema.REPRODUCES: original.info.run_id})  # fmt: skip
    except UserInputError as exc:
        raise UserInputError(
            f"cannot reproduce {original.info.run_id}: the code it needs has changed ({exc})"
        ) from None
    new_rec = json.loads((Path(new.folder) / "record.json").read_text())
    before, after = step_metrics(c, original.info.run_id), step_metrics(c, new.run_id)
    rows = []
    for step in rec["steps"]:
        old_m, new_m = before.get(step, {}), after.get(step, {})
        for key in sorted(set(old_m) | set(new_m)):
            a, b = old_m.get(key), new_m.get(key)
            same = a is not None and b is not None and math.isclose(a, b, rel_tol=rtol, abs_tol=1e-12)
            rows.append([step, key, a, b, same])
    return Reproduction(original=original.info.run_id, new=new, changes=R.changes(rec, new_rec), rows=rows,
                        rtol=rtol)  # fmt: skip
