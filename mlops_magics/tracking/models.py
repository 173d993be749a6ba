"""Models: log a fitted object as an MLflow model, register versions, point aliases at them.

scikit-learn estimators and pipelines are saved with MLflow's default (skops) format; the types skops
does not trust by default (e.g. ``sklearn.tree._tree.Tree`` inside gradient boosting) are the model's
own, found by skops itself and recorded in the model so that loading it works. Any other object with a
``predict`` method is saved as a pyfunc model.

MLflow infers a model's pip requirements by loading it in a subprocess (12.4 s for a small gradient
boosting model here, and the list picked up dask, pytest and rich). A model made only of scikit-learn
parts needs only scikit-learn, skops and their numeric stack, so those are pinned directly (0.06 s);
a model holding anything else is left to MLflow's inference.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import io
import warnings

from .. import schema
from ..errors import BackendError, UserInputError
from .results import ModelsTable, RegisteredVersion
from .store import client, quote, retry_locked

ARTIFACT = "model"


def sample_input(user_ns: dict, cell: str, name: str | None, rows: int = 5):
    """The input example: ``--input NAME``, else the first argument of the cell's first ``.fit(X, ...)``."""
    if name is None:
        name = _fit_argument(cell)
        if name is None or name not in user_ns:
            return None
    elif name not in user_ns:
        raise UserInputError(f"--input {name}: no such variable in the notebook; check the name")
    return example_rows(user_ns[name], rows)


def example_rows(x, rows: int = 5):
    """The first ``rows`` rows of features, as a model's input example (None stays None)."""
    if x is None:
        return None
    return x.head(rows) if hasattr(x, "head") else x[:rows]


def _fit_argument(cell: str) -> str | None:
    try:
        tree = ast.parse(cell)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("fit", "fit_transform")
            and node.args
            and isinstance(node.args[0], ast.Name)
        ):
            return node.args[0].id
    return None


def _is_sklearn(obj) -> bool:
    return type(obj).__module__.startswith("sklearn") or any(
        c.__module__.startswith("sklearn") for c in type(obj).__mro__[1:]
    )


def _pure_sklearn(model, depth: int = 0) -> bool:
    """True when the model and every estimator or callable inside it come from scikit-learn or numpy."""
    if depth > 20:
        return False
    if not type(model).__module__.startswith("sklearn"):
        return False
    try:
        params = model.get_params(deep=False)
    except Exception:
        return False
    for value in params.values():
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            if isinstance(item, tuple) and len(item) >= 2:  # (name, estimator[, columns]) in pipelines
                item = item[1]
            if hasattr(item, "get_params"):
                if not _pure_sklearn(item, depth + 1):
                    return False
            elif callable(item) and getattr(item, "__module__", "").split(".")[0] not in ("sklearn", "numpy"):
                return False
    return True


@functools.cache
def sklearn_requirements() -> tuple[str, ...]:
    """The pip requirements of a model made only of scikit-learn parts, pinned to this environment."""
    import mlflow.sklearn

    from .context import installed_version

    reqs = mlflow.sklearn.get_default_pip_requirements(include_skops=True)
    reqs += [
        f"{dist}=={installed_version(dist)}"
        for dist in ("numpy", "pandas", "scipy")
        if installed_version(dist)
    ]
    return tuple(reqs)


def log_model(model, input_example=None) -> str:
    """Log ``model`` into the active run; return its model URI (the caller tags the run with it)."""
    import mlflow
    from mlflow.models import infer_signature

    if not hasattr(model, "predict"):
        raise UserInputError(
            f"--model: a {type(model).__name__} has no predict() method, so it cannot be saved as an MLflow "
            "model; pass the fitted estimator or pipeline"
        )
    signature = None
    # MLflow hints, once per model, that integer columns cannot hold missing values at serving time:
    # a red warning under every %%track cell that has an integer feature. The signature still says int.
    warnings.filterwarnings(
        "ignore", message="Hint: Inferred schema contains integer column", category=UserWarning
    )
    if input_example is not None:
        try:
            signature = infer_signature(input_example, model.predict(input_example))
        except Exception as exc:
            raise UserInputError(
                f"--model: predicting on the input example failed ({type(exc).__name__}: {exc}); "
                "pass the training features with --input NAME"
            ) from exc
    try:
        if _is_sklearn(model):
            info = mlflow.sklearn.log_model(
                model, name=ARTIFACT, signature=signature, input_example=input_example,
                skops_trusted_types=_skops_types(model),
                pip_requirements=list(sklearn_requirements()) if _pure_sklearn(model) else None,
            )  # fmt: skip
        else:
            info = mlflow.pyfunc.log_model(
                name=ARTIFACT,
                python_model=_PredictWrapper(model),
                signature=signature,
                input_example=input_example,
            )
    except Exception as exc:
        raise BackendError("mlflow.log_model", exc) from exc
    return info.model_uri


def _skops_types(model) -> list[str] | None:
    try:
        import skops.io as sio

        return sio.get_untrusted_types(data=sio.dumps(model)) or None
    except Exception as exc:  # skops cannot serialise it at all: say so, with the type at fault
        raise UserInputError(
            f"--model: this {type(model).__name__} cannot be saved in MLflow's skops format ({exc})"
        ) from exc


class _PredictWrapper:
    """A pyfunc model around any object with ``predict`` (built lazily: mlflow is imported by then)."""

    def __new__(cls, model):
        import mlflow.pyfunc

        class PredictModel(mlflow.pyfunc.PythonModel):
            def __init__(self, inner):
                self.inner = inner

            def predict(self, context, model_input, params=None):
                return self.inner.predict(model_input)

        return PredictModel(model)


def register(run, name: str, alias: str | None = None, config=None):
    """Register the model of ``run`` (a :class:`RunResult`) as a new version of ``name``."""
    import mlflow

    if not name or not all(ch.isalnum() or ch in "-_." for ch in name):
        raise UserInputError(
            f"--name {name!r}: use letters, digits, '-', '_' or '.'; e.g. --name credit-risk"
        )
    uri = run.model_uri
    if not uri:
        raise UserInputError(f"run {run.run_id} has no logged model; log one with %%track ... --model VAR")
    c = client(config)
    try:
        # MLflow prints "Successfully registered model ..." to stderr; the card below says it
        with contextlib.redirect_stderr(io.StringIO()):
            version = retry_locked(mlflow.register_model)(uri, name, tags={schema.VERSION_RUN_ID: run.run_id})
        if alias:
            retry_locked(c.set_registered_model_alias)(name, alias, version.version)
    except Exception as exc:
        raise BackendError("mlflow.register_model", exc) from exc
    v = c.get_model_version(name, version.version)
    return RegisteredVersion(name, int(v.version), alias, v.source, run.run_id, list(v.aliases or []))


def list_models(config=None) -> ModelsTable:
    c = client(config)
    rows = []
    for m in c.search_registered_models():
        latest = max((int(v.version) for v in m.latest_versions), default=None) if m.latest_versions else None
        versions = c.search_model_versions(f"name = {quote(m.name)}")
        latest = max((int(v.version) for v in versions), default=latest)
        aliases = ", ".join(f"@{a}→v{v}" for a, v in sorted((m.aliases or {}).items()))
        rows.append([m.name, latest, aliases, len(versions)])
    return ModelsTable(rows)
