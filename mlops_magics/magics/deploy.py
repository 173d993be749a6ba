"""%deploy: serve a model with MLServer on this machine, or write Seldon Core v2 / KServe manifests
(API: ``mlops_magics.serving``)."""

from __future__ import annotations

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..serving.target import TARGETS
from ._base import (
    dispatch,
    document,
    finish,
    friendly_errors,
    parse_words,
    port,
    positive_int,
    replicas,
    seconds,
    subcommand,
    table,
    tokenize,
    variable,
)


def _serving():
    from .. import serving

    return serving


@subcommand("deploy", "predict")
@argument("name", help="deployment name")
@argument("frame", metavar="DF", help="a DataFrame variable of the model's input columns")
def _predict(m, a):
    """Send a DataFrame through a deployment; predictions as a DataFrame."""
    return _serving().predict(a.name, variable(m.shell, a.frame, f"%deploy predict {a.name} {a.frame}"))


@subcommand("deploy", "list")
def _list(m, a):
    """Deployments of this workspace and their status."""
    return _serving().list_deployments()


@subcommand("deploy", "status")
@argument("name", help="deployment name")
def _status(m, a):
    """One deployment's card, with its live status."""
    return _serving().get(a.name)


@subcommand("deploy", "logs")
@argument("name", help="deployment name")
@argument("-n", "--lines", type=positive_int, default=40, help="how many lines (default 40)")
def _logs(m, a):
    """The tail of a deployment's server log."""
    return _serving().logs(a.name, a.lines)


@subcommand("deploy", "stop")
@argument("name", nargs="?", help="deployment name")
@argument("--all", action="store_true", help="stop every running deployment")
def _stop(m, a):
    """Stop a deployment's server (or --all)."""
    if a.all == bool(a.name):
        raise UsageError("%deploy stop takes a deployment name or --all")
    return _serving().stop_all() if a.all else _serving().stop(a.name)


SUBCOMMANDS = table(_predict, _list, _status, _logs, _stop)


@magics_class
class DeployMagics(Magics):
    @magic_arguments()
    @argument("model", nargs="?", help="models:/NAME@ALIAS, models:/NAME/VERSION, runs:/RUN_ID/model, a fitted "
              "model variable, or a subcommand: " + ", ".join(SUBCOMMANDS))  # fmt: skip
    @argument("--name", help="deployment name (a Kubernetes name: lower-case, digits, '-')")
    @argument("--target", choices=TARGETS.names(), default="local",
              help="local: an MLServer endpoint on this machine; seldon | kserve: manifests")  # fmt: skip
    @argument("--port", type=port, help="local: the HTTP port (default: a free one)")
    @argument("--host", help="local: the address to bind (default: MLOps.serving_host, 127.0.0.1)")
    @argument("--no-batching", action="store_true", help="local: turn MLServer's adaptive batching off")
    @argument(
        "--max-batch-size", type=positive_int, help="local: requests merged into one batch (default 32)"
    )
    @argument("--max-batch-time", type=seconds, help="local: seconds a batch waits to fill (default 0.02)")
    @argument(
        "--timeout", type=seconds, help="local: seconds to wait for the model to be ready (default 180)"
    )
    @argument("--outputs", metavar="A,B", help="local: what the endpoint answers: prediction, proba (default: both; "
              "proba gives one proba_<class> per class of a classifier)")  # fmt: skip
    @argument(
        "--detach",
        action="store_true",
        help="local: the server outlives this kernel (stop it with %%deploy stop)",
    )
    @argument("--entity", help="serve by this entity key (e.g. applicant_id): the endpoint reads the model's features "
              "from the online store")  # fmt: skip
    @argument("--features", action="append", metavar="VIEW[:f1,f2]",
              help="with --entity: the features to look up (default: those the model's run trained on)")  # fmt: skip
    @argument("--missing", choices=["error", "null"], help="with --entity: an unknown id is a 404 (error, default) "
              "or a row of nulls for the model (null)")  # fmt: skip
    @argument(
        "--input", metavar="VAR", help="for a model variable: features for its signature and input example"
    )
    @argument(
        "--storage-uri", help="where the cluster reads the MLflow model folder, e.g. s3://bucket/credit-risk"
    )
    @argument("--canary", metavar="[MODEL:]PERCENT", help="Seldon: an Experiment sending PERCENT to MODEL; "
              "KServe: canaryTrafficPercent for the new revision")  # fmt: skip
    @argument("--replicas", type=replicas, help="how many replicas (Seldon replicas; KServe min = max)")
    @argument("--min-replicas", type=replicas)
    @argument("--max-replicas", type=replicas)
    @argument("--apply", action="store_true", help="seldon/kserve: create or replace them in the cluster "
              "(the pod's service account, else KUBECONFIG)")  # fmt: skip
    @argument("--namespace", help="with --apply: the namespace (default: the service account's or context's)")
    @argument("-o", "--output", metavar="NAME", help="store the result (a deployment, or manifests)")
    @line_magic
    @friendly_errors
    def deploy(self, line=""):
        """Serve a model with MLServer (V2 protocol), or write manifests for a cluster.

        ::

            %deploy models:/credit-risk@champion --name credit-risk      # local MLServer on 127.0.0.1
            %deploy runs:/<run_id>/model --name trial
            %deploy model --name quick                 # a fitted estimator in the namespace: logged, then served
            %deploy predict credit-risk new_applicants -o preds
            %deploy list | status NAME | logs NAME | stop NAME | stop --all
            %deploy models:/credit-risk@champion --name credit-risk --target seldon --storage-uri s3://b/credit-risk
            %deploy models:/credit-risk@champion --name credit-risk --target seldon --storage-uri s3://b/cr --canary challenger:10
            %deploy models:/credit-risk@champion --name credit-risk --target kserve --storage-uri s3://b/credit-risk
            %deploy models:/credit-risk@champion --name credit-risk --target seldon --storage-uri s3://b/cr --apply

        A local deployment runs MLServer from its own cached environment, is ready when the model's own
        endpoint answers and a smoke inference succeeds, logs every request in the server, and stops
        with %deploy stop, kernel shutdown or %unload_ext. Manifests are written to the workspace's
        deployments/NAME/ folder, annotated with the model URI, run and version, for ``kubectl apply -f``.
        API: ``mlops_magics.serving.deploy(model, name, target=..., **options)``; the subcommands below
        call ``serving.predict``, ``list_deployments``, ``get``, ``logs`` and ``stop``.
        """
        words = tokenize(line)
        if words and words[0] in SUBCOMMANDS:
            return dispatch(self, "deploy", SUBCOMMANDS, words)
        args = parse_words(self.deploy, words, "deploy")
        if args is None:
            return None
        if not args.model:
            raise UsageError(
                "%deploy needs a model URI, e.g. %deploy models:/credit-risk@champion --name credit-risk ..."
            )
        if not args.name:
            raise UsageError("%deploy needs --name, e.g. --name credit-risk")
        options = {k: getattr(args, k) for k in ("port", "host", "max_batch_size", "max_batch_time", "timeout", "outputs",
                                                 "storage_uri", "canary", "replicas", "min_replicas", "max_replicas",
                                                 "entity", "features", "missing", "namespace")
                   if getattr(args, k) is not None}  # fmt: skip
        if args.no_batching:
            options["batching"] = False
        if args.detach:
            options["detach"] = True
        if args.apply:
            options["apply"] = True
        model, example = self._model(args.model), None
        if args.input:
            example = variable(self.shell, args.input, f"--input {args.input}")
        result = _serving().deploy(model, args.name, target=args.target, input_example=example, **options)
        return finish(self.shell, args.output, result)

    def _model(self, model: str):
        """A model URI as given, or the fitted model a notebook variable holds."""
        if ":/" in model:
            return model
        if not model.isidentifier() or model not in self.shell.user_ns:
            raise UsageError(f"{model!r} is neither a model URI (models:/NAME@ALIAS, runs:/ID/model) nor a "
                             "variable in the notebook")  # fmt: skip
        return self.shell.user_ns[model]


document(DeployMagics.deploy, SUBCOMMANDS)


def load_ipython_extension(ip):
    ip.register_magics(DeployMagics)
