"""Result objects of ``%deploy``: a deployment card and the list of deployments."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..display import Card, Result, Table


@dataclass
class Deployment(Result):
    """A local deployment's record (``deployments/NAME/deployment.json``) with its live status:
    STARTING, READY, STOPPED (asked to stop, or its owner process exited) or DEAD (crashed)."""

    name: str
    model_uri: str
    run_id: str | None
    url: str
    host: str
    port: int
    pid: int
    pid_started: float
    folder: str
    log: str
    request_log: str
    created: str
    target: str = "local"
    status: str = "READY"
    extra: dict = field(default_factory=dict)
    owner_pid: int = 0  # the process the server dies with (unless detached)
    owner_started: float = 0.0
    detached: bool = False
    inputs: list = field(default_factory=list)  # the model signature: [{"name", "type", "required"}]
    outputs: list = field(default_factory=list)  # what the endpoint answers: prediction, proba_<class>
    reason: str = ""  # why it is STOPPED or DEAD

    @property
    def infer_url(self) -> str:
        return f"{self.url}/v2/models/{self.name}/infer"

    def curl(self) -> str:
        """A request to copy: the model's own input example, one input per column (V2 protocol)."""
        return f"curl -s -X POST {self.infer_url} -H 'Content-Type: application/json' -d @{self.folder}/example-request.json"

    def card(self) -> Card:
        facts = [("endpoint", self.infer_url), ("model", self.model_uri), ("run", self.run_id),
                 ("inputs", ", ".join(f"{c['name']} ({c['type']})" for c in self.inputs[:12])
                  + (f", ... ({len(self.inputs)})" if len(self.inputs) > 12 else "") or None),
                 ("outputs", ", ".join(self.outputs) or None),
                 ("server", f"MLServer pid {self.pid} on {self.host}:{self.port}"
                  + (" (detached: outlives this kernel)" if self.detached else "")),
                 ("log", self.log), ("request log", self.request_log)]  # fmt: skip
        if self.reason and self.status in ("STOPPED", "DEAD"):
            facts.insert(0, ("why", self.reason))
        lookup = self.extra.get("lookup")
        if lookup:
            facts.insert(3, ("looks up", "; ".join(f"{v['view']} v{v['version']} ({len(v['features'])} features"
                                                    + (f", trained on v{v['trained_version']}" if v.get("trained_version")
                                                       and str(v["trained_version"]) != str(v["version"]) else "") + ")"
                                                    for v in lookup["views"])
                                 + f" in the online store, by {lookup['entity']}; unknown ids: "
                                 + ("404" if lookup["missing"] == "error" else "nulls to the model")))  # fmt: skip
            notes = [f"warning: {w}" for w in lookup.get("warnings", [])]
            notes += [
                f"V2 protocol: send the {lookup['entity']} only, one or more ids; an id as a request:",
                self.curl(),
            ]
        else:
            notes = ["V2 protocol, one input per column (null for a missing value); the model's input example as a "
                     "request:", self.curl()]  # fmt: skip
        return Card(f"Deployment {self.name}", facts, status=self.status, notes=notes, kind="deployment")

    def to_record(self) -> dict:
        return asdict(self)


@dataclass
class DeploymentsTable(Result):
    deployments: list[Deployment]

    def card(self) -> Card:
        rows = [[d.name, d.status, d.url, d.model_uri, d.created, d.reason if d.status in ("STOPPED", "DEAD") else ""]
                for d in self.deployments]  # fmt: skip
        table = Table(["name", "status", "url", "model", "created", "why"], rows)
        return Card(f"Deployments ({len(rows)})", tables=[table], kind="deployments")

    def __len__(self) -> int:
        return len(self.deployments)


@dataclass
class LogTail(Result):
    """The end of a server log (``%deploy logs``): the lines themselves as text."""

    name: str
    path: str
    text: str

    def card(self) -> Card:
        return Card(f"Log of {self.name}", [("log", self.path)], notes=self.text.splitlines(), kind="log")

    def __str__(self) -> str:
        return self.text

    def _repr_mimebundle_(self, include=None, exclude=None):
        import html

        return {
            "text/plain": self.text,
            "text/html": f"<pre class='mlops-log'>{html.escape(self.text)}</pre>",
        }
