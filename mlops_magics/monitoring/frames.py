"""What a drift check compares: a DataFrame, ``run:ID|last|NAME`` (the features the run trained on) or
``deployment:NAME`` (the requests the endpoint logged, optionally only those of the last ``window``).
One resolver, used by ``check`` and ``watch`` alike."""

from __future__ import annotations

from datetime import timedelta

from .. import refs
from ..errors import UserInputError


def traffic(name: str, window: timedelta | None = None, config=None):
    """The rows a deployment logged (inputs and predictions, with a ``timestamp``), newest window only."""
    from ..serving import deployments

    frame = deployments.request_log(name, config)
    if window is not None and not frame.empty:
        import pandas as pd

        frame = frame[frame["timestamp"] >= pd.Timestamp.now(tz="UTC") - window]
    return frame


def resolve(spec, window: timedelta | None = None, config=None):
    """(DataFrame, lineage metadata) for a drift input."""
    import pandas as pd

    if isinstance(spec, pd.DataFrame):
        return spec, {}
    ref = refs.parse(spec, ("run", "deployment", "model"))
    if ref.kind in ("run", "model"):  # a model's training data: that of the run that logged it
        from .training import training_features

        return training_features(ref.value, config)
    from ..serving import deployments

    dep = deployments.get(ref.value, config)
    frame = traffic(ref.value, window, config)
    if frame.empty:
        raise UserInputError(
            f"deployment {ref.value!r} logged no requests"
            + (f" in the last {window}" if window else " yet")
            + "; send some through its endpoint"
        )
    meta = {"deployment": ref.value, "model_uri": dep.model_uri, "run_id": dep.run_id}
    return frame.drop(columns=["timestamp"]), {k: v for k, v in meta.items() if v}
