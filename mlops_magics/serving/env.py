"""The serving environment: MLServer in its own virtualenv, keyed by what it must hold.

MLServer 1.7 pins fastapi < 0.116 while current Feast needs starlette >= 1.0, so the two cannot share
the notebook's environment (FACTS.md). As Seldon runs MLServer in its own container, the local server
runs from a venv holding MLServer, its MLflow runtime and the model's own logged requirements, keyed
by a hash of those, cached in a user cache folder (``MLOPS_ENV_CACHE``, else ``~/.cache/mlops-magics``)
and reused. It is built into a temporary folder and renamed, under a file lock: complete or absent.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ..errors import BackendError

MLSERVER = ("mlserver==1.7.1", "mlserver-mlflow==1.7.1")
# Feast's online read path installs beside MLServer when uv keeps MLServer's web stack (FACTS.md):
# current Feast asks for starlette 1.x, which only its feature *server* needs.
FEAST_OVERRIDES = ("starlette<0.47", "fastapi<0.116")


def lookup_requirements(online_store: str = "", remote: bool = False) -> list[str]:
    """What a deployment keyed by entity needs besides the model's own requirements: this environment's
    Feast (and its Redis client when the online store is Redis; its gRPC client for the team's registry
    server), so both read the store the same way."""
    from importlib.metadata import version

    reqs = [f"feast=={version('feast')}"]
    if remote:
        reqs += [f"{p}=={version(p)}" for p in ("grpcio", "grpcio-health-checking", "grpcio-reflection")]
    elif online_store.startswith(("redis://", "rediss://")):
        reqs.append(f"redis=={version('redis')}")
    return reqs


# Part of the key: envs built before bytecode was compiled are not reused (each server start in one
# recompiled mlflow, mlserver and scikit-learn when PYTHONDONTWRITEBYTECODE=1 is set).
LAYOUT = "compiled-bytecode"


def cache_dir() -> Path:
    if os.environ.get("MLOPS_ENV_CACHE"):
        return Path(os.environ["MLOPS_ENV_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mlops-magics" / "serving-envs"


def requirements_of(model_dir: Path) -> list[str]:
    """The model's logged pip requirements (``requirements.txt`` of the MLflow model folder)."""
    path = Path(model_dir) / "requirements.txt"
    lines = path.read_text().splitlines() if path.is_file() else ["mlflow"]
    return sorted({ln.strip() for ln in lines if ln.strip() and not ln.startswith(("#", "-"))})


def env_key(requirements: list[str]) -> str:
    spec = "\n".join([*MLSERVER, *requirements, f"python{sys.version_info[0]}.{sys.version_info[1]}", LAYOUT])
    return hashlib.sha256(spec.encode()).hexdigest()[:16]


def _uv() -> str:
    from uv import find_uv_bin

    return find_uv_bin()


def ensure_env(requirements: list[str], log=print) -> Path:
    """The venv for these requirements: reused if built before, else built now (about 15 s with uv)."""
    from filelock import FileLock

    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    target = root / env_key(requirements)
    done = target / ".complete"  # written last: a venv without it is a build that died half-way
    if done.is_file():
        return target
    with FileLock(str(target) + ".lock", timeout=900):
        if done.is_file():  # another kernel built it meanwhile
            return target
        shutil.rmtree(target, ignore_errors=True)
        t = time.perf_counter()
        log(
            f"serving environment: building {target.name} (MLServer 1.7.1 + {len(requirements)} model requirements)..."
        )
        python = str(target / "bin" / "python")
        try:  # built in place: a venv's scripts name their interpreter by absolute path
            _run([_uv(), "venv", "-q", "--python", sys.executable, str(target)], "uv venv")
            overrides = []
            if any(r.startswith("feast") for r in requirements):
                path = target.with_name(target.name + ".overrides.txt")
                path.write_text("\n".join(FEAST_OVERRIDES) + "\n")
                overrides = ["--override", str(path)]
            _run(
                [
                    _uv(),
                    "pip",
                    "install",
                    "-q",
                    "--compile-bytecode",
                    "--python",
                    python,
                    *MLSERVER,
                    *requirements,
                    *overrides,
                ],
                "uv pip install",
            )
        except BackendError:
            shutil.rmtree(target, ignore_errors=True)
            raise
        done.write_text("\n".join([*MLSERVER, *requirements]) + "\n")
        log(f"serving environment: ready in {time.perf_counter() - t:.0f} s ({target})")
    return target


def _run(cmd: list[str], call: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BackendError(
            call, (proc.stderr or proc.stdout).strip()[-2000:] or f"exit code {proc.returncode}"
        )


def prepare_sklearn_env(log=print) -> Path:
    """Build ahead of time the venv a pure scikit-learn model logged by ``%%track`` will need (Binder's
    postBuild runs this, so the first ``%deploy`` there does not wait for it).

    The requirements are read back from a model saved exactly as ``%%track --model`` logs one.
    """
    import tempfile

    import mlflow.sklearn
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from ..tracking.models import sklearn_requirements

    model = LogisticRegression().fit(np.array([[0.0], [1.0]]), [0, 1])
    with tempfile.TemporaryDirectory() as tmp:
        mlflow.sklearn.save_model(model, f"{tmp}/model", pip_requirements=list(sklearn_requirements()))
        requirements = requirements_of(Path(tmp) / "model")
    return ensure_env(requirements, log=log)
