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

The file is checked against :data:`FILE_SCHEMA` (JSON Schema, with ``jsonschema``) before anything runs;
a mistake is one line naming the field, e.g. ``pipeline.yaml: steps.train.gpu: 'lots' is not of type
'integer'``. A step's notebook must lie in the pipeline's folder (or below it).
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

from ..errors import UserInputError, shown
from . import params as P

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,99}$")  # a step's name also names its output notebook
_STRINGS = {"type": "array", "items": {"type": "string"}}
STEP_SCHEMA = {
    "type": "object",
    "required": ["notebook"],
    "additionalProperties": False,
    "properties": {
        "notebook": {"type": "string", "minLength": 1, "maxLength": 4000},
        "needs": {"anyOf": [{"type": "string"}, _STRINGS]},
        "parameters": {"type": "object", "propertyNames": {"type": "string"}},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 7 * 86400},
        "image": {"type": "string", "minLength": 1},
        "packages": _STRINGS,
        "gpu": {"type": "integer", "minimum": 0, "maximum": 64},
    },
}
FILE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["steps"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 100},  # any text: folders take a safe form
        "description": {"type": "string"},
        "parameters": {"type": "object", "propertyNames": {"type": "string"}},
        "steps": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"type": "string", "pattern": NAME.pattern},
            "additionalProperties": {"anyOf": [{"type": "string", "minLength": 1}, STEP_SCHEMA]},
        },
    },
}


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


_HINTS = {  # what a field takes, where JSON Schema could only say "not valid under any of the given schemas"
    "needs": "give a step name or a list of step names, e.g. needs: [features]",
    "step": "give a notebook file, or a mapping with notebook: FILE.ipynb",
    "key": "a step name: letters, digits, - or _, starting with a letter, at most 100 characters",
}


def validate(doc, filename: str) -> None:
    """``doc`` against :data:`FILE_SCHEMA`; the most relevant mistake as one line, with its field path."""
    import jsonschema
    from jsonschema.exceptions import best_match

    error = best_match(jsonschema.Draft202012Validator(FILE_SCHEMA).iter_errors(doc))
    if error is None:
        return
    path = [str(p) for p in error.absolute_path]
    where = ".".join(path) or "the file"
    if "propertyNames" in error.absolute_schema_path:  # a key itself is wrong
        what = _HINTS["key"] if path == ["steps"] else "a parameter name is text"
        message = f"{shown(error.instance)} is not allowed as a key ({what})"
    elif error.validator == "anyOf":
        message = f"{shown(error.instance)}: " + _HINTS["needs" if path[-1:] == ["needs"] else "step"]
    else:
        message = " ".join(error.message.split())
        message = message if len(message) <= 200 else message[:196] + " ..."
    raise UserInputError(f"{filename}: {where}: {message}")


def _is_file(path: Path, what: str) -> bool:
    try:
        return path.is_file()
    except OSError as exc:  # a name too long for the file system, ...
        raise UserInputError(f"{what} {shown(str(path))}: {exc.strerror or exc}") from None


def load(path: str | Path) -> Pipeline:
    """A pipeline file (``.yaml``/``.yml``) or a single notebook (a pipeline of one step)."""
    if "\x00" in str(path):
        raise UserInputError(f"{shown(str(path))}: a file name cannot hold a NUL character")
    path = Path(path).resolve()
    if path.suffix == ".ipynb":
        if not _is_file(path, "notebook"):
            raise UserInputError(f"no notebook at {shown(str(path), 200)}")
        name = re.sub(r"[^A-Za-z0-9_-]", "_", path.stem)[:100]
        step = _step(
            name if NAME.match(name) else "notebook", {"notebook": path.name}, path.parent, path.name
        )
        return Pipeline(name=path.stem, source=path, steps={step.name: step})
    if path.suffix not in (".yaml", ".yml"):
        raise UserInputError(f"{shown(path.name)}: give a notebook (.ipynb) or a pipeline file (.yaml)")
    if not _is_file(path, "pipeline file"):
        raise UserInputError(f"no pipeline file at {shown(str(path), 200)}")
    import yaml

    try:
        doc = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UserInputError(f"{path.name} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict) or "steps" not in doc:
        raise UserInputError(f"{path.name}: expected a mapping with 'steps:' (step name -> notebook, needs)")
    validate(doc, path.name)
    steps = {}
    for name, body in doc["steps"].items():
        steps[name] = _step(
            name, {"notebook": body} if isinstance(body, str) else body, path.parent, path.name
        )
    for step in steps.values():
        missing = [n for n in step.needs if n not in steps]
        if missing:
            raise UserInputError(f"step {step.name} needs {', '.join(missing)}, which is not a step")
    pipeline = Pipeline(name=str(doc.get("name") or path.stem), source=path, steps=steps,
                        parameters=dict(doc.get("parameters") or {}))  # fmt: skip
    pipeline.order()  # refuse cycles now
    return pipeline


def _step(name: str, body: dict, base: Path, filename: str) -> Step:
    """A step of a validated file; its notebook must lie in the pipeline's folder (a file that reaches
    elsewhere with ``../`` would run code the pipeline's folder does not hold)."""
    nb_path = Path(os.path.normpath(base / body["notebook"]))
    if not nb_path.is_relative_to(base):
        raise UserInputError(f"{filename}: steps.{name}.notebook: {shown(body['notebook'])} lies outside the "
                             f"pipeline's folder {base}; keep the notebooks beside the pipeline file")  # fmt: skip
    if not _is_file(nb_path, f"{filename}: steps.{name}.notebook"):
        raise UserInputError(f"{filename}: steps.{name}.notebook: no notebook at {shown(str(nb_path), 200)}")
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
