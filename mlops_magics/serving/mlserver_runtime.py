"""MLServer runtime that logs every inference: copied into each local deployment's folder and loaded
by MLServer (``implementation: mlops_magics_runtime.LoggingMLflowRuntime``) inside the serving env.

It is never imported by the notebook's environment. Logging happens in the server, so requests from
any client (curl, a load generator, another service) are recorded, not only ``%deploy predict``.
Each ``predict`` call (one adaptive batch) appends one JSON line: time, inputs and outputs by column.
"""

import json
import time

from mlserver_mlflow import MLflowRuntime


def _values(tensor):
    data = tensor.data.root if hasattr(tensor.data, "root") else tensor.data
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in data]


class LoggingMLflowRuntime(MLflowRuntime):
    _request_log = None  # also when load() failed before opening it: unload() must still work

    async def load(self) -> bool:
        ready = await super().load()
        extra = (self._settings.parameters.extra or {}) if self._settings.parameters else {}
        path = extra.get("request_log")
        self._request_log = open(path, "a", buffering=1 << 16) if path else None  # noqa: SIM115
        return ready

    async def predict(self, payload):
        response = await super().predict(payload)
        if self._request_log is not None:
            record = {
                "ts": time.time(),
                "inputs": {i.name: _values(i) for i in payload.inputs},
                "outputs": {o.name: _values(o) for o in response.outputs},
            }
            self._request_log.write(json.dumps(record, default=str) + "\n")
            self._request_log.flush()
        return response

    async def unload(self) -> bool:
        if self._request_log is not None:
            self._request_log.close()
        return await super().unload()
