"""What a compiled pipeline takes from where it is compiled: the workspace settings every component gets as
pipeline inputs (never secrets: those are Kubernetes secret references, resolved in the cluster)."""

from __future__ import annotations

import re

from ..errors import UserInputError

SETTINGS = ("MLOPS_SERVER", "MLFLOW_TRACKING_URI", "MLOPS_ONLINE_STORE")
SECRET_NAME = re.compile(r"(?i)token|secret|password|passwd|key|credential")


def settings(env: dict | list | None = None, config=None) -> dict[str, str]:
    """The settings every component gets as pipeline inputs (defaults: this process's), never secrets;
    ``env``: more of them, as a dict or ``["NAME=VALUE", ...]``."""
    from ..config import get_config

    config = config or get_config()
    out = {"MLOPS_SERVER": config.server, "MLFLOW_TRACKING_URI": config.tracking_uri or "",
           "MLOPS_ONLINE_STORE": config.online_store}  # fmt: skip
    if env is not None and not isinstance(env, dict):  # ["NAME=VALUE", ...] from --env
        pairs = [str(item).partition("=") for item in env]
        bad = [n + eq + v for n, eq, v in pairs if not (n and eq)]
        if bad:
            raise UserInputError(
                f"--env {bad[0]!r}: type NAME=VALUE, e.g. --env MLOPS_ONLINE_STORE=redis://host:6379"
            )
        env = {n: v for n, _, v in pairs}
    for name, value in (env or {}).items():
        if not re.fullmatch(r"[A-Z_][A-Z0-9_]*", name):
            raise UserInputError(
                f"--env {name}: an environment variable name is upper-case letters, digits and _"
            )
        if SECRET_NAME.search(name):
            raise UserInputError(f"--env {name}: looks like a secret, which would be written into the pipeline in "
                                 f"clear; use --secret {name}=SECRET_NAME:KEY (a Kubernetes secret)")  # fmt: skip
        out[name] = value
    return out


def parse_secrets(specs) -> dict[str, tuple[str, str]]:
    """``["MLOPS_TOKEN=team-token:token"]`` -> {"MLOPS_TOKEN": ("team-token", "token")}: Kubernetes secret
    references, resolved in the cluster; the value itself never enters the compiled file."""
    out = {}
    for spec in specs or ():
        env, eq, ref = str(spec).partition("=")
        name, colon, key = ref.partition(":")
        if not (eq and colon and env and name and key):
            raise UserInputError(
                f"--secret {spec!r}: type ENV=SECRET_NAME:KEY, e.g. --secret MLOPS_TOKEN=team-token:token"
            )
        out[env] = (name, key)
    return out
