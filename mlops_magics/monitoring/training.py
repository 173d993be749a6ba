"""``run:ID|last`` as a drift input: the training data of a run, found through its feature lineage.

A run trained on ``%feature get`` records which view versions it read (view, fingerprint, features,
entities). Each version's data is the parquet file the workspace keeps under its fingerprint, so the
training features are read back exactly, without having been copied into the run.
"""

from __future__ import annotations

from .. import schema
from ..errors import UserInputError


def training_features(run_ref: str, config=None):
    """The features a run was trained on: latest row per entity of each view version, joined on entity."""
    import pandas as pd

    from ..features.repo import version_data
    from ..tracking import resolve_run

    run = resolve_run(run_ref, config)
    used = schema.features_used(run.tags)
    if not used:
        raise UserInputError(f"run {run.name} ({run.run_id}) recorded no training data (it read no features with "
                             "%feature get); pass the training DataFrame instead")  # fmt: skip
    frames = []
    for u in used:
        path = version_data(u["view"], u["fingerprint"], config, fetch=True)
        if not path.is_file():
            raise UserInputError(
                f"the data of feature view {u['view']} version {u['version']} is gone ({path})"
            )
        df = pd.read_parquet(path)
        keys = u.get("entities") or []
        if keys:
            ts = next((c for c in df.columns if pd.api.types.is_datetime64_any_dtype(df[c])), None)
            if ts is not None:
                df = df.sort_values(ts)
            df = df.drop_duplicates(keys, keep="last").set_index(keys)
        frames.append(df[u["features"]])
    out = frames[0].join(frames[1:], how="outer") if len(frames) > 1 else frames[0]
    return out.reset_index(drop=True), {"reference_run": run.run_id}
