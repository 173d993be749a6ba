"""Lineage: from any model, deployment or run to its feature views, run, model versions, deployments
and drift checks — one call, read from where each tool keeps its metadata (tag namespace
``mlops_magics.*`` on MLflow runs and model versions, Feast view tags, deployment records, drift
history), so the chain is readable without this package.

Broken links are kept and marked: a run that was deleted, a feature view that is gone, or one that has
changed since the run read it ("outdated").
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field

from . import refs, schema
from .display import Card, Result
from .errors import UserInputError

KINDS = ("feature_view", "run", "model_version", "deployment", "drift_check")
TITLES = {"feature_view": "feature views", "run": "training run", "model_version": "model versions",
          "deployment": "deployments", "drift_check": "drift checks"}  # fmt: skip
COLOURS = {"ok": "#d0d7de", "outdated": "#9a6700", "broken": "#cf222e"}


@dataclass
class Node:
    kind: str
    id: str
    facts: dict = field(default_factory=dict)
    status: str = "ok"  # ok | outdated | broken
    note: str = ""
    link: str | None = None


@dataclass
class Chain(Result):
    root: str
    nodes: list[Node] = field(default_factory=list)

    def of(self, kind: str) -> list[Node]:
        return [n for n in self.nodes if n.kind == kind]

    def to_dict(self) -> dict:
        return {"root": self.root, **{k: [asdict(n) for n in self.of(k)] for k in KINDS}}

    def to_text(self) -> str:
        lines = [f"lineage of {self.root}"]
        for kind in KINDS:
            lines.append(f"-> {TITLES[kind]}" if kind != "feature_view" else f"   {TITLES[kind]}")
            for n in self.of(kind) or []:
                mark = "" if n.status == "ok" else f" [{n.status.upper()}: {n.note}]"
                facts = ", ".join(f"{k}={v}" for k, v in n.facts.items() if v not in (None, ""))
                lines.append(f"     {n.id}{mark}  {facts}")
            if not self.of(kind):
                lines.append("     (none)")
        return "\n".join(lines)

    def to_html(self) -> str:
        """A chain of compact nodes that wraps instead of clipping: each node shows what identifies it,
        the rest (long feature lists included) one click away."""
        cols = []
        for kind in KINDS:
            boxes = "".join(_node_html(n) for n in self.of(kind)) or "<div style='color:#57606a'>(none)</div>"
            cols.append(f"<div class='mlops-lineage-col mlops-lineage-{kind}' style='flex:1 1 150px;min-width:140px;"
                        f"max-width:320px'><div style='font-weight:600;margin-bottom:4px'>{TITLES[kind]}</div>{boxes}</div>")  # fmt: skip
        arrow = "<div style='flex:0 0 auto;align-self:center;font-size:18px;color:#57606a'>&rarr;</div>"
        return (f"<div class='mlops-card mlops-lineage' style='font-family:sans-serif;font-size:12px;max-width:100%;"
                f"box-sizing:border-box'><div style='font-weight:600;font-size:14px;margin-bottom:4px'>Lineage of "
                f"{html.escape(self.root)}</div><div style='display:flex;flex-wrap:wrap;gap:6px;align-items:flex-start'>"
                f"{arrow.join(cols)}</div></div>")  # fmt: skip

    def card(self) -> Card:  # used for text; HTML is the graph above
        return Card(f"Lineage of {self.root}", notes=self.to_text().splitlines()[1:], kind="lineage")

    def _repr_mimebundle_(self, include=None, exclude=None):
        from .display import live_kernel

        bundle = {"text/plain": self.to_text(), "text/html": self.to_html()}
        if live_kernel():
            import ipywidgets as w

            # one HTML widget: the chain wraps with the output area's width (an HBox of boxes would clip)
            view = w.HTML(self.to_html(), layout=w.Layout(width="auto"))
            view.add_class("mlops-widget-lineage")
            bundle.update({k: v for k, v in view._repr_mimebundle_().items() if k != "text/plain"})
        return bundle


KEY_FACTS = {"feature_view": ("version",), "run": ("name", "status"), "model_version": ("aliases",),
             "deployment": ("status", "target"), "drift_check": ("verdict", "share")}  # fmt: skip


def _node_html(n: Node) -> str:
    def fact(k, v):
        return (f"<div style='overflow-wrap:anywhere'><span style='color:#57606a'>{html.escape(str(k))}</span> "
                f"{html.escape(str(v))}</div>")  # fmt: skip

    shown = {k: v for k, v in n.facts.items() if v not in (None, "")}
    key = "".join(fact(k, shown[k]) for k in KEY_FACTS.get(n.kind, ()) if k in shown)
    rest = {k: v for k, v in shown.items() if k not in KEY_FACTS.get(n.kind, ())}
    details = ""
    if rest:
        listed = rest.pop("features", None)
        count = len(listed.split(", ")) if listed else 0
        label = f"{count} feature{'s' * (count != 1)}" if listed else "details"
        inner = (fact("features", listed) if listed else "") + "".join(fact(k, v) for k, v in rest.items())
        details = (f"<details class='mlops-lineage-details'><summary style='cursor:pointer;color:#0969da'>{label}"
                   f"</summary>{inner}</details>")  # fmt: skip
    note = (f"<div style='color:{COLOURS[n.status]};font-weight:600'>{html.escape(n.status)}: {html.escape(n.note)}</div>"
            if n.status != "ok" else "")  # fmt: skip
    title = (f"<a href='{html.escape(n.link, quote=True)}' target='_blank'>{html.escape(n.id)}</a>" if n.link
             else html.escape(n.id))  # fmt: skip
    return (f"<div class='mlops-lineage-node' style='border:1px solid {COLOURS[n.status]};border-radius:6px;"
            f"padding:4px 6px;margin:3px 0;overflow-wrap:anywhere'><div style='font-weight:600'>{title}</div>"
            f"{note}{key}{details}</div>")  # fmt: skip


# -- walking ----------------------------------------------------------------------------------------------
def lineage(ref: str, config=None) -> Chain:
    """``models:/NAME@ALIAS``, ``models:/NAME/VERSION``, ``deployment:NAME`` or ``run:ID|last``."""
    chain = Chain(ref)
    parsed = refs.parse(ref)
    if parsed.kind == "deployment":
        from .serving import deployments

        run_id = deployments.get(parsed.value, config).run_id
    elif parsed.kind == "model":
        from .serving.models import resolve_model

        run_id = resolve_model(parsed.value, config).run_id
    else:
        from .tracking import resolve_run

        run_id = resolve_run(parsed.value, config).run_id
    if not run_id:
        raise UserInputError(f"{ref} has no training run recorded, so there is no chain to walk")
    run, used = _run_node(run_id, config)
    chain.nodes += [*_feature_nodes(used, config), run, *_version_nodes(run_id, config)]
    deployments = _deployment_nodes(run_id, config)
    chain.nodes += deployments + _drift_nodes(run_id, [d.id for d in deployments], config)
    return chain


def _run_node(run_id: str, config) -> tuple[Node, list[dict]]:
    """The run's node, and the feature-view versions it read (its ``features`` lineage tag)."""
    from .tracking import get_run
    from .tracking.ui import ui_url

    try:
        r = get_run(run_id, config)
    except UserInputError:
        return Node("run", run_id, status="broken", note="the run no longer exists"), []
    t = r.tags
    node = Node("run", run_id, {
        "name": r.name, "status": r.status, "experiment": r.experiment, "notebook": t.get(schema.NOTEBOOK),
        "cell sha256": (t.get(schema.CELL_SHA256) or "")[:12], "git commit": t.get(schema.GIT_COMMIT),
        "git dirty": t.get(schema.GIT_DIRTY), "pipeline run": t.get(schema.PIPELINE_RUN),
        "pipeline step": t.get(schema.PIPELINE_STEP),
        "papermill parameters": t.get(schema.PAPERMILL_PARAMETERS),
        "params": ", ".join(f"{k}={v}" for k, v in sorted(r.params.items())),
        "metrics": ", ".join(f"{k}={v:.4g}" for k, v in sorted(r.metrics.items()) if not schema.is_drift_metric(k)),
        "model": r.model_uri,
    })  # fmt: skip
    if r.lifecycle_stage == "deleted":
        node.status, node.note = "broken", "the run was deleted"
    base = ui_url()
    node.link = f"{base}/#/experiments/{r.experiment_id}/runs/{run_id}" if base else None
    return node, schema.features_used(t)


def _feature_nodes(used: list[dict], config) -> list[Node]:
    if not used:
        return []
    from .features.repo import version_data
    from .features.ui import view_url
    from .features.views import get_view

    nodes = []
    for u in used:
        n = Node("feature_view", u["view"], {"version": u.get("version"), "fingerprint": u.get("fingerprint"),
                                             "features": ", ".join(u.get("features", []))}, link=view_url(u["view"]))  # fmt: skip
        data = version_data(u["view"], u.get("fingerprint"), config, fetch=True)
        try:
            view = get_view(u["view"], config)
        except UserInputError:
            n.status, n.note = "broken", "the feature view was deleted"
        else:
            now_fp = schema.view_fingerprint(view.tags)
            if now_fp != u.get("fingerprint"):
                n.status = "outdated"
                n.note = f"the view is now version {schema.view_version(view.tags)} (fingerprint {now_fp})"
        if n.status == "ok" and not data.is_file():
            n.status, n.note = "broken", "the data of this version is gone"
        nodes.append(n)
    return nodes


def _version_nodes(run_id: str, config) -> list[Node]:
    from .tracking.store import client, quote

    c = client(config)
    nodes = []
    for v in c.search_model_versions(f"run_id = {quote(run_id)}"):
        aliases = ", ".join(f"@{a}" for a in (c.get_registered_model(v.name).aliases or {})
                            if str(c.get_registered_model(v.name).aliases[a]) == str(v.version))  # fmt: skip
        nodes.append(
            Node("model_version", f"{v.name} v{v.version}", {"aliases": aliases, "source": v.source})
        )
    return nodes


def _deployment_nodes(run_id: str, config) -> list[Node]:
    from .serving import deployments

    nodes = []
    for d in deployments.list_deployments(config).deployments:
        if d.run_id == run_id:
            status = "ok" if d.status in ("READY", "STOPPED") else "broken"
            lookup = d.extra.get("lookup") or {}
            served = ", ".join(f"{v['view']} v{v['version']}" for v in lookup.get("views", []))
            node = Node("deployment", d.name, {"target": d.target, "status": d.status, "endpoint": d.infer_url,
                                               "model": d.model_uri, "created": d.created,
                                               "serves by": lookup.get("entity"), "features served": served},
                        status=status, note="the server died" if status == "broken" else "")  # fmt: skip
            nodes.append(node)
    from .serving.manifests import for_run

    for name, target, path in for_run(run_id, config):
        nodes.append(Node("deployment", f"{name} ({target})", {"target": target, "manifests": str(path)}))
    return nodes


def _drift_nodes(run_id: str, deployments: list[str], config) -> list[Node]:
    from .monitoring.snapshots import checks_for, snapshot_url

    nodes = []
    for name, rec in checks_for(run_id, deployments, config):
        meta = rec.get("metadata", {})
        nodes.append(Node("drift_check", f"{name} @ {rec['when']}", {
            "verdict": "DRIFT" if rec["dataset_drift"] else "no drift", "share": f"{rec['drift_share']:.0%}",
            "drifted": ", ".join(rec.get("drifted", [])), "deployment": meta.get("deployment"),
            "report": rec.get("report")}, link=snapshot_url(rec.get("project"), rec.get("snapshot"))))  # fmt: skip
    return nodes
