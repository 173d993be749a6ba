"""Result objects of ``%deploy``: a deployment card and the list of deployments."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..display import Card, Result, Table


@dataclass
class Deployment(Result):
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

    @property
    def infer_url(self) -> str:
        return f"{self.url}/v2/models/{self.name}/infer"

    def curl(self) -> str:
        """A request to copy: the model's own input example, one input per column (V2 protocol)."""
        return f"curl -s -X POST {self.infer_url} -H 'Content-Type: application/json' -d @{self.folder}/example-request.json"

    def card(self) -> Card:
        facts = [("endpoint", self.infer_url), ("model", self.model_uri), ("run", self.run_id),
                 ("server", f"MLServer pid {self.pid} on {self.host}:{self.port}"), ("log", self.log),
                 ("request log", self.request_log)]  # fmt: skip
        notes = ["V2 protocol, one input per column; the model's input example as a request:", self.curl()]
        return Card(f"Deployment {self.name}", facts, status=self.status, notes=notes, kind="deployment")

    def to_record(self) -> dict:
        return asdict(self)


@dataclass
class DeploymentsTable(Result):
    deployments: list[Deployment]

    def card(self) -> Card:
        rows = [[d.name, d.status, d.url, d.model_uri, d.created] for d in self.deployments]
        return Card(f"Deployments ({len(rows)})", tables=[Table(["name", "status", "url", "model", "created"], rows)],
                    kind="deployments")  # fmt: skip

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
