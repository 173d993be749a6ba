"""A pipeline: notebook steps with parameters and ``needs:`` (a DAG), read from YAML or one notebook.

```yaml
name: credit-risk
parameters:            # pipeline-level: reach every step whose notebook declares them
  data_path: ""
steps:
  features: {notebook: 01_features.ipynb}
  train:
    notebook: 02_train.ipynb
    needs: [features]
    parameters: {C: 0.5}   # this step only
    timeout: 600           # seconds per cell
```
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from ..errors import UserInputError
from . import params as P

STEP_KEYS = {"notebook", "needs", "parameters", "timeout", "image", "packages", "gpu"}
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


@dataclasses.dataclass
class Step:
    name: str
    notebook: Path
    needs: list[str] = dataclasses.field(default_factory=list)
    parameters: dict = dataclasses.field(default_factory=dict)  # fixed by the pipeline file
    timeout: float | None = None
    image: str | None = None
    packages: list[str] = dataclasses.field(default_factory=list)
    gpu: int = 0
    declared: dict = dataclasses.field(default_factory=dict)  # the notebook's own defaults


@dataclasses.dataclass
class Pipeline:
    name: str
    source: Path
    steps: dict[str, Step]
    parameters: dict = dataclasses.field(default_factory=dict)

    def order(self) -> list[str]:
        """Steps in an order that respects ``needs`` (file order among equals)."""
        done: list[str] = []
        pending = list(self.steps)
        while pending:
            ready = [s for s in pending if all(n in done for n in self.steps[s].needs)]
            if not ready:
                raise UserInputError(f"the steps {', '.join(pending)} need each other in a cycle")
            done.extend(ready)
            pending = [s for s in pending if s not in ready]
        return done

    def step_parameters(self, overrides: dict) -> dict[str, dict]:
        """The parameters each step gets, checked against its notebook's defaults.

        ``overrides``: ``{name: value}`` for every step declaring ``name``, or ``{"step.name": value}``
        for one step. A name no step declares is refused (papermill would only warn).
        """
        flow = {**self.parameters, **{k: v for k, v in overrides.items() if "." not in k}}
        for key in overrides:
            step, _, pname = key.partition(".")
            if pname and step not in self.steps:
                raise UserInputError(f"-p {key}: no step named {step} (steps: {', '.join(self.steps)})")
            if pname and pname not in self.steps[step].declared:
                raise UserInputError(f"-p {key}: {self.steps[step].notebook.name} has no parameter {pname}")
        for key in flow:
            if not any(key in s.declared for s in self.steps.values()):
                known = sorted({p for s in self.steps.values() for p in s.declared})
                raise UserInputError(
                    f"no step declares a parameter {key} (declared: {', '.join(known) or 'none'})"
                )
        out = {}
        for name, step in self.steps.items():
            given = {k: v for k, v in flow.items() if k in step.declared}
            given.update(step.parameters)
            given.update({k.partition(".")[2]: v for k, v in overrides.items() if k.startswith(name + ".")})
            out[name] = {
                k: P.coerce(k, v, step.declared.get(k, ...), f"{name} ({step.notebook.name})")
                for k, v in given.items()
            }
        return out


def load(path: str | Path) -> Pipeline:
    """A pipeline file (``.yaml``/``.yml``) or a single notebook (a pipeline of one step)."""
    path = Path(path).resolve()
    if path.suffix == ".ipynb":
        name = re.sub(r"[^A-Za-z0-9_-]", "_", path.stem)
        step = _step(name if NAME.match(name) else "notebook", {"notebook": path.name}, path.parent)
        return Pipeline(name=path.stem, source=path, steps={step.name: step})
    if path.suffix not in (".yaml", ".yml"):
        raise UserInputError(f"{path.name}: give a notebook (.ipynb) or a pipeline file (.yaml)")
    if not path.is_file():
        raise UserInputError(f"no pipeline file at {path}")
    import yaml

    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise UserInputError(f"{path.name} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("steps"), dict) or not doc["steps"]:
        raise UserInputError(f"{path.name}: expected a mapping with 'steps:' (step name -> notebook, needs)")
    unknown = set(doc) - {"name", "description", "parameters", "steps"}
    if unknown:
        raise UserInputError(f"{path.name}: unknown keys {', '.join(sorted(unknown))}")
    steps = {}
    for name, body in doc["steps"].items():
        if not isinstance(name, str) or not NAME.match(name):
            raise UserInputError(f"{path.name}: step name {name!r} must be letters, digits, - or _")
        if isinstance(body, str):
            body = {"notebook": body}
        steps[name] = _step(name, body, path.parent)
    for step in steps.values():
        missing = [n for n in step.needs if n not in steps]
        if missing:
            raise UserInputError(f"step {step.name} needs {', '.join(missing)}, which is not a step")
    pipeline = Pipeline(
        name=str(doc.get("name") or path.stem), source=path, steps=steps,
        parameters=dict(doc.get("parameters") or {}),
    )  # fmt: skip
    pipeline.order()  # refuse cycles now
    return pipeline


def _step(name: str, body, base: Path) -> Step:
    if not isinstance(body, dict) or "notebook" not in body:
        raise UserInputError(f"step {name}: expected 'notebook: FILE.ipynb'")
    unknown = set(body) - STEP_KEYS
    if unknown:
        raise UserInputError(f"step {name}: unknown keys {', '.join(sorted(unknown))}")
    nb_path = (base / body["notebook"]).resolve()
    needs = body.get("needs") or []
    needs = [needs] if isinstance(needs, str) else list(needs)
    declared = P.defaults(P.load(nb_path))
    fixed = dict(body.get("parameters") or {})
    for key in fixed:
        if key not in declared:
            raise UserInputError(f"step {name}: {nb_path.name} has no parameter {key}")
    return Step(
        name=name, notebook=nb_path, needs=needs, parameters=fixed, timeout=body.get("timeout"),
        image=body.get("image"), packages=list(body.get("packages") or []), gpu=int(body.get("gpu") or 0),
        declared=declared,
    )  # fmt: skip
