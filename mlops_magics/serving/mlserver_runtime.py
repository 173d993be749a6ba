"""The MLServer runtime of local deployments: copied into each deployment's folder and run inside the
serving environment (MLServer, mlserver-mlflow, the model's requirements); never imported by the
notebook's environment.

What it adds to mlserver-mlflow's ``MLflowRuntime``:

- **Errors a client can act on.** Each request is checked against the model signature *before*
  adaptive batching merges it with others (the check wraps ``self.predict`` in ``load()``, after
  MLServer installed its batching wrapper): a missing input, a datatype the column cannot take, a value
  of the wrong kind, a shape that does not match the data, ragged columns, no inputs — each answered
  ``400 {"error": "..."}`` naming the input and what was expected, for that request only. MLflow's
  own schema errors that get past it are 400 too; anything else stays a 500 with its reason.
- **Named outputs that match the metadata.** ``prediction`` and, for classifiers, ``proba_<class>``
  per class (through the fitted estimator, ``PyFuncModel.get_raw_model()``), chosen with the
  ``outputs`` parameter; the model metadata advertises exactly those.
- **Missing values.** JSON ``null`` arrives as None/NaN; text nulls become NaN, so imputers inside the
  model see them as missing.
- **A request log.** Every request (inputs and outputs, nulls as JSON null) is appended as one line.
- **A load failure that says why** (``ModelLoadError``: one line, also the load API's JSON answer).
- **An owner watchdog.** Run as a script (``python mlops_magics_runtime.py start FOLDER``) with
  ``MLOPS_OWNER_FD`` set, it stops the server when the process that started it dies, however it dies:
  the end of a pipe it inherited reads EOF. It writes ``stopped.json`` first, so the owner's records
  say STOPPED (owner exited), not DEAD.
"""

import functools
import gc
import json
import math
import os
import signal
import sys
import threading
import time


# -- the owner watchdog (runs when this file is the server's entry point) -----------------------------------
def watch_owner(fd: int, folder: str) -> None:
    """Block until the owner's end of the pipe closes (the owner died), then stop this server."""
    while True:
        try:
            if not os.read(fd, 1):
                break
        except InterruptedError:
            continue
        except OSError:
            break
    with open(os.path.join(folder, "stopped.json"), "w") as f:
        json.dump({"reason": "owner exited", "when": time.time()}, f)
    os.kill(os.getpid(), signal.SIGTERM)  # MLServer's own graceful shutdown
    time.sleep(20)
    os._exit(1)


if __name__ == "__main__" and os.environ.get("MLOPS_OWNER_FD"):  # before the slow imports below
    threading.Thread(
        target=watch_owner, args=(int(os.environ["MLOPS_OWNER_FD"]), os.getcwd()), daemon=True
    ).start()


_INTS = {"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"}
ACCEPTS = {  # MLflow column type -> V2 datatypes a client may send for it
    "long": _INTS, "integer": _INTS - {"INT64", "UINT32", "UINT64"},
    "double": _INTS | {"FP16", "FP32", "FP64"}, "float": _INTS | {"FP16", "FP32"},
    "string": {"BYTES"}, "boolean": {"BOOL"},
}  # fmt: skip
CANONICAL = {"long": "INT64", "integer": "INT32", "double": "FP64", "float": "FP32", "string": "BYTES",
             "boolean": "BOOL"}  # fmt: skip


def _family(datatype: str) -> str:
    return next((f for f in ("UINT", "INT", "FP", "BYTES", "BOOL") if datatype.startswith(f)), datatype)


def _valid(family: str, v) -> bool:
    if family in ("INT", "UINT"):
        return isinstance(v, int) and not isinstance(v, bool) and (family == "INT" or v >= 0)
    if family == "FP":
        return v is None or (isinstance(v, int | float) and not isinstance(v, bool))
    if family == "BYTES":
        return v is None or isinstance(v, str | bytes)
    return isinstance(v, bool) if family == "BOOL" else True


def flat(data) -> list:
    if isinstance(data, list) and data and isinstance(data[0], list):
        return [v for row in data for v in flat(row)]
    return list(data) if isinstance(data, list) else [data]


def _values(data) -> list:
    """Tensor data as JSON values: bytes as text, NaN as null."""
    out = []
    for v in flat(data.root if hasattr(data, "root") else data):
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        elif isinstance(v, float) and math.isnan(v):
            v = None
        out.append(v)
    return out


# -- the runtime (imported by MLServer inside the serving environment) --------------------------------------
try:
    from mlserver.errors import InferenceError, MLServerError
    from mlserver_mlflow import MLflowRuntime
except ImportError:  # only the watchdog is wanted (tests import this file without MLServer)
    MLflowRuntime = object
    InferenceError = MLServerError = Exception


def settle() -> None:
    """Once a model is loaded: what is in memory now (MLflow, pandas, scikit-learn, the model: about a
    million objects) lives as long as the server, so it is moved out of the garbage collector's reach and
    a full collection no longer walks it. Those walks stalled requests for 100-150 ms: at 8 connections
    p99 was 6.3x p50, after 1.1x; 469 -> 676 req/s at 32 connections (bench/bench_serving.py)."""
    gc.collect()
    gc.freeze()


class BadRequest(InferenceError):
    """A request the model's signature rejects: HTTP 400 ``{"error": ...}``."""


class ModelLoadError(MLServerError):
    def __init__(self, message: str):
        super().__init__(message, status_code=500)


def _mlflow_reason(exc) -> str:
    """The part of an MLflow schema error a person reads (it leads with a repr of the whole frame)."""
    message = getattr(exc, "message", str(exc))
    return message.rsplit("Error: ", 1)[-1].split(" Hint:", 1)[0].strip()


class LoggingMLflowRuntime(MLflowRuntime):
    _request_log = None  # also when load() failed before opening it: unload() must still work

    async def load(self) -> bool:
        try:
            ready = await super().load()
        except Exception as exc:
            uri = getattr(self._settings.parameters, "uri", "")
            raise ModelLoadError(
                f"model {self.name!r} failed to load from {uri}: {type(exc).__name__}: {exc}"
            ) from exc
        extra = (self._settings.parameters.extra or {}) if self._settings.parameters else {}
        path = extra.get("request_log")
        self._request_log = open(path, "a", buffering=1 << 16) if path else None  # noqa: SIM115
        schema = self._input_schema
        named = schema is not None and not schema.is_tensor_spec() and schema.has_input_names()
        self._columns = {c.name: c for c in schema.inputs} if named else {}
        self._setup_outputs(extra.get("outputs") or ["prediction", "proba"])
        inner = self.predict  # the adaptive batcher's wrapper when batching is on (installed before load)

        @functools.wraps(inner)
        async def checked(payload):
            self._check(payload)  # this request alone, before it is merged into a batch
            response = await inner(payload)
            self._log(payload, response)
            return response

        self.predict = checked
        settle()
        return ready

    def _setup_outputs(self, wanted: list) -> None:
        from mlserver.types import MetadataTensor, Parameters

        try:  # the fitted estimator behind the pyfunc (sklearn flavour); a custom pyfunc has none
            raw = self._model.get_raw_model()
        except Exception:
            raw = None
        classes = getattr(raw, "classes_", None) if hasattr(raw, "predict_proba") else None
        self._raw = raw if hasattr(raw, "predict") else None
        self._classes = list(classes) if classes is not None and "proba" in wanted else []
        self._labels = "prediction" in wanted or not self._classes
        text = classes is None or getattr(classes, "dtype", None) is None or classes.dtype.kind in "OUSb"
        outs = []
        if self._labels:
            outs.append(MetadataTensor(name="prediction", datatype="BYTES" if text else "INT64", shape=[-1, 1],
                                       parameters=Parameters(content_type="str" if text else "np")))  # fmt: skip
        outs += [MetadataTensor(name=f"proba_{c}", datatype="FP64", shape=[-1, 1], parameters=Parameters(content_type="np"))
                 for c in self._classes]  # fmt: skip
        self.outputs = outs

    def _check(self, payload) -> None:
        if not self._columns:
            return
        expected = ", ".join(
            f"{n} ({CANONICAL.get(c.type.name, c.type.name)})" for n, c in self._columns.items()
        )
        if not payload.inputs:
            raise BadRequest(f"the request has no inputs; expected {expected}")
        names = [i.name for i in payload.inputs]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise BadRequest(f"inputs given twice: {', '.join(twice)}")
        missing = [n for n, c in self._columns.items() if getattr(c, "required", True) and n not in names]
        if missing:
            raise BadRequest(f"missing input(s) {', '.join(missing)}; expected {expected}")
        payload.inputs = [i for i in payload.inputs if i.name in self._columns]  # MLflow ignores others too
        rows = {}
        for i in payload.inputs:
            column, data = self._columns[i.name], flat(i.data.root)
            if not i.shape or math.prod(i.shape) != len(data):
                raise BadRequest(
                    f"input {i.name!r}: shape {i.shape} needs {math.prod(i.shape or [0])} values, got {len(data)}"
                )
            if len(i.shape) > 2 or (len(i.shape) == 2 and i.shape[1] != 1):
                raise BadRequest(f"input {i.name!r}: shape {i.shape}; a column is [n] or [n, 1]")
            rows[i.name] = i.shape[0]
            mtype = getattr(column.type, "name", str(column.type))
            if i.datatype not in ACCEPTS.get(mtype, {i.datatype}):
                raise BadRequest(f"input {i.name!r}: datatype {i.datatype} does not fit the model's {mtype} column; "
                                 f"send {CANONICAL.get(mtype, mtype)}")  # fmt: skip
            family = _family(i.datatype)
            bad = [k for k, v in enumerate(data) if not _valid(family, v)]
            if bad:
                v = data[bad[0]]
                hint = " (an integer column cannot hold null: log the model with the column as float)" \
                    if v is None and family in ("INT", "UINT") else ""  # fmt: skip
                more = f"; {len(bad)} bad values" if len(bad) > 1 else ""
                raise BadRequest(f"input {i.name!r} ({i.datatype}): value {v!r} at row {bad[0]} is not a valid "
                                 f"{i.datatype}{hint}{more}")  # fmt: skip
            canonical = CANONICAL.get(mtype, i.datatype)
            if canonical != i.datatype:  # one datatype per input across a merged batch
                i.datatype = canonical
                if _family(canonical) == "FP":
                    i.data.root = [None if v is None else float(v) for v in data]
        if len(set(rows.values())) > 1:
            raise BadRequest(
                "inputs have different numbers of rows: " + ", ".join(f"{k} {v}" for k, v in rows.items())
            )

    async def predict(self, payload):
        import numpy as np
        import pandas as pd
        from mlflow.exceptions import MlflowException
        from mlflow.models import validate_schema

        frame = self.decode_request(payload)
        if self._columns:  # the signature's column order: a fitted estimator checks it
            frame = frame[[c for c in self._columns if c in frame.columns]]
        text = frame.select_dtypes(object).columns  # a JSON null in text decodes to None, which imputers
        frame[text] = frame[text].where(frame[text].notna(), np.nan)  # (missing_values=nan) would not see
        out = {}
        try:
            if self._raw is None:  # a custom pyfunc: labels only, MLflow enforces the schema
                out["prediction"] = np.asarray(self._model.predict(frame)).reshape(len(frame))
            else:  # the estimator itself (the checked datatypes are the signature's): one transform pass
                if self._input_schema is not None:
                    validate_schema(frame, self._input_schema)
                model, features = self._raw, frame
                if hasattr(model, "steps") and len(model.steps) > 1:  # a Pipeline: transform once for both
                    model, features = model.steps[-1][1], model[:-1].transform(frame)
                if self._labels:
                    out["prediction"] = np.asarray(model.predict(features)).reshape(len(frame))
                if self._classes:
                    proba = model.predict_proba(features)
                    for k, c in enumerate(self._classes):
                        out[f"proba_{c}"] = proba[:, k]
        except MlflowException as exc:
            raise BadRequest(_mlflow_reason(exc)) from None
        except (ValueError, TypeError) as exc:
            raise BadRequest(f"the model rejected the input: {type(exc).__name__}: {exc}") from None
        return self.encode_response(pd.DataFrame(out))

    def _log(self, payload, response) -> None:
        if self._request_log is None:
            return
        record = {"ts": time.time(), "inputs": {i.name: _values(i.data) for i in payload.inputs},
                  "outputs": {o.name: _values(o.data) for o in response.outputs}, **self._log_extra()}  # fmt: skip
        self._request_log.write(json.dumps(record, default=str) + "\n")
        self._request_log.flush()

    def _log_extra(self) -> dict:
        return {}

    async def unload(self) -> bool:
        if self._request_log is not None:
            self._request_log.close()
        return await super().unload()


if __name__ == "__main__":
    from mlserver.cli.main import main

    sys.argv = ["mlserver", *sys.argv[1:]]
    sys.exit(main())
