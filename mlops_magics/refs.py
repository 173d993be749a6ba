"""References as magics and the API take them: ``run:ID``, ``run:last``, ``run:NAME``,
``deployment:NAME``, and model URIs (``models:/NAME@ALIAS``, ``models:/NAME/VERSION``, ``runs:/ID/model``).
One parser, so every verb reads a reference the same way."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UserInputError

KINDS = {"model": "models:/NAME@ALIAS", "deployment": "deployment:NAME", "run": "run:ID|last|NAME"}


@dataclass(frozen=True)
class Ref:
    kind: str  # run | deployment | model
    value: str  # the run id/name, deployment name, or the whole model URI

    def __str__(self) -> str:
        return self.value if self.kind == "model" else f"{self.kind}:{self.value}"


def is_ref(text) -> bool:
    return isinstance(text, str) and (text.startswith(("run:", "deployment:", "models:/", "runs:/")))


def parse(text: str, allowed: tuple[str, ...] = ("run", "deployment", "model")) -> Ref:
    if not isinstance(text, str):
        raise UserInputError(
            f"expected a reference ({', '.join(KINDS[k] for k in allowed)}), got {type(text).__name__}"
        )
    if text.startswith(("models:/", "runs:/")):
        ref = Ref("model", text)
    elif text.startswith("run:"):
        ref = Ref("run", text.split(":", 1)[1])
    elif text.startswith("deployment:"):
        ref = Ref("deployment", text.split(":", 1)[1])
    else:
        ref = None
    if ref is None or ref.kind not in allowed or not ref.value or ref.value.endswith(":/"):
        raise UserInputError(f"{text!r}: type {' or '.join(KINDS[k] for k in KINDS if k in allowed)}")
    return ref
