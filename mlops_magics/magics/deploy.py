"""%deploy: Seldon Core v2 / KServe manifests for a registered model.

The local MLServer endpoint (``--target local``, the default) is issue #5's next step; until it lands
it says so in one line.
"""

from __future__ import annotations

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from ._base import friendly_errors, parse, store


def _canary(text: str | None, target: str):
    if not text:
        return None
    name, _, share = text.rpartition(":")
    try:
        percent = int(share)
    except ValueError:
        raise UsageError(f"--canary {text!r}: type MODEL:PERCENT, e.g. --canary challenger:10") from None
    if target == "seldon" and not name:
        raise UsageError(
            f"--canary {text!r}: Seldon needs the other model's name, e.g. --canary challenger:10"
        )
    return (name, percent) if target == "seldon" else percent


@magics_class
class DeployMagics(Magics):
    @magic_arguments()
    @argument("model", nargs="?", help="models:/NAME@ALIAS, models:/NAME/VERSION or runs:/RUN_ID/model")
    @argument("--name", help="deployment name (a Kubernetes name: lower-case, digits, '-')")
    @argument("--target", choices=["local", "seldon", "kserve"], default="local",
              help="local: an MLServer endpoint on 127.0.0.1 (not available yet); seldon | kserve: manifests")  # fmt: skip
    @argument(
        "--storage-uri", help="where the cluster reads the MLflow model folder, e.g. s3://bucket/credit-risk"
    )
    @argument("--canary", metavar="MODEL:PERCENT", help="Seldon: an Experiment sending PERCENT to MODEL; "
              "KServe: canaryTrafficPercent")  # fmt: skip
    @argument("--replicas", type=int, default=1, help="Seldon replicas")
    @argument("--min-replicas", type=int)
    @argument("--max-replicas", type=int)
    @argument("-o", "--output", metavar="NAME", help="store the result (manifests as YAML text and dicts)")
    @line_magic
    @friendly_errors
    def deploy(self, line=""):
        """Deploy a registered model.

        ::

            %deploy models:/credit-risk@champion --name credit-risk --target seldon --storage-uri s3://b/credit-risk
            %deploy models:/credit-risk@champion --name credit-risk --target seldon --storage-uri s3://b/cr --canary challenger:10
            %deploy models:/credit-risk@champion --name credit-risk --target kserve --storage-uri s3://b/credit-risk

        Manifests are written to the workspace's deployments/NAME/ folder, annotated with the model URI,
        run and registered version (lineage), ready for ``kubectl apply -f``.
        """
        args = parse(self.deploy, line, "deploy")
        store(self.shell, args.output, None)
        if args.target == "local":
            raise UsageError("local serving with MLServer is not available yet (issue #5); "
                             "for a cluster use --target seldon or --target kserve with --storage-uri")  # fmt: skip
        if not args.model:
            raise UsageError(
                "%deploy needs a model URI, e.g. %deploy models:/credit-risk@champion --name credit-risk ..."
            )
        if not args.name:
            raise UsageError("%deploy needs --name, e.g. --name credit-risk")
        from ..serving import manifests, resolve_model
        from ..workspace import current

        model = resolve_model(args.model)
        canary = _canary(args.canary, args.target)
        if args.target == "seldon":
            result = manifests.seldon(model, args.name, args.storage_uri, args.replicas, args.min_replicas,
                                      args.max_replicas, canary)  # fmt: skip
        else:
            result = manifests.kserve(
                model, args.name, args.storage_uri, args.min_replicas, args.max_replicas, canary
            )
        manifests.write(result, current().ensure().deployment_dir(args.name))
        store(self.shell, args.output, result)
        display(result)


def load_ipython_extension(ip):
    ip.register_magics(DeployMagics)
