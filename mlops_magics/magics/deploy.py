"""%deploy: serve a model with MLServer on this machine, or write Seldon Core v2 / KServe manifests."""

from __future__ import annotations

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from ._base import dispatch, friendly_errors, parse, parse_sub, split, store, subparser, variable


def _serving():
    from ..serving import local

    return local


def _predict(m, rest):
    p = subparser("%deploy predict", "Send a DataFrame through a deployment; predictions as a DataFrame.")
    p.add_argument("name")
    p.add_argument("frame", metavar="DF")
    a = parse_sub(p, rest)
    result = _serving().predict(a.name, variable(m.shell, a.frame, f"%deploy predict {a.name} {a.frame}"))
    store(m.shell, a.output, result)
    return None if a.output else result


def _list(m, rest):
    a = parse_sub(subparser("%deploy list", "Deployments of this workspace and their status."), rest)
    return store(m.shell, a.output, _serving().list_deployments())


def _status(m, rest):
    p = subparser("%deploy status", "One deployment's card, with its live status.")
    p.add_argument("name")
    a = parse_sub(p, rest)
    return store(m.shell, a.output, _serving().get(a.name))


def _logs(m, rest):
    p = subparser("%deploy logs", "The tail of a deployment's server log.", output=False)
    p.add_argument("name")
    p.add_argument("-n", "--lines", type=int, default=40)
    a = parse_sub(p, rest)
    print(_serving().logs(a.name, a.lines))


def _stop(m, rest):
    p = subparser("%deploy stop", "Stop a deployment's server (or --all).", output=False)
    p.add_argument("name", nargs="?")
    p.add_argument("--all", action="store_true")
    a = parse_sub(p, rest)
    if a.all == bool(a.name):
        raise UsageError("%deploy stop takes a deployment name or --all")
    stopped = _serving().stop_all() if a.all else [_serving().stop(a.name).name]
    print(f"stopped: {', '.join(stopped) or 'nothing was running'}")


SUBCOMMANDS = {"predict": _predict, "list": _list, "status": _status, "logs": _logs, "stop": _stop}


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
    @argument("model", nargs="?", help="models:/NAME@ALIAS, models:/NAME/VERSION, runs:/RUN_ID/model, a fitted "
              "model variable, or a subcommand: " + ", ".join(SUBCOMMANDS))  # fmt: skip
    @argument("--name", help="deployment name (a Kubernetes name: lower-case, digits, '-')")
    @argument("--target", choices=["local", "seldon", "kserve"], default="local",
              help="local: an MLServer endpoint on this machine; seldon | kserve: manifests")  # fmt: skip
    @argument("--port", type=int, help="local: the HTTP port (default: a free one)")
    @argument("--host", help="local: the address to bind (default: MLOps.serving_host, 127.0.0.1)")
    @argument("--no-batching", action="store_true", help="local: turn MLServer's adaptive batching off")
    @argument("--timeout", type=float, default=180, help="local: seconds to wait for the model to be ready")
    @argument(
        "--input", metavar="VAR", help="for a model variable: features for its signature and input example"
    )
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

        A local deployment runs MLServer from its own cached environment, is ready when the model's own
        endpoint answers and a smoke inference succeeds, logs every request in the server, and stops
        with %deploy stop, kernel shutdown or %unload_ext. Manifests are written to the workspace's
        deployments/NAME/ folder, annotated with the model URI, run and version, for ``kubectl apply -f``.
        """
        words = split(line)
        if words and words[0] in SUBCOMMANDS:
            return dispatch(SUBCOMMANDS, words[0], "deploy", self, words[1:])
        args = parse(self.deploy, line, "deploy")
        store(self.shell, args.output, None)
        if not args.model:
            raise UsageError(
                "%deploy needs a model URI, e.g. %deploy models:/credit-risk@champion --name credit-risk ..."
            )
        if not args.name:
            raise UsageError("%deploy needs --name, e.g. --name credit-risk")
        model_uri = self._model_uri(args.model, args.name, args.input)
        if args.target == "local":
            if args.storage_uri or args.canary:
                raise UsageError("--storage-uri and --canary are for --target seldon or kserve")
            result = _serving().deploy(model_uri, args.name, port=args.port, host=args.host,
                                       batching=not args.no_batching, timeout=args.timeout)  # fmt: skip
            store(self.shell, args.output, result)
            display(result)
            return None
        from ..serving import manifests, resolve_model
        from ..workspace import current

        model = resolve_model(model_uri)
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

    def _model_uri(self, model: str, name: str, input_var: str | None) -> str:
        """A model URI as given, or a fitted model in the namespace: logged in a run first."""
        if ":/" in model:
            return model
        if not model.isidentifier() or model not in self.shell.user_ns:
            raise UsageError(f"{model!r} is neither a model URI (models:/NAME@ALIAS, runs:/ID/model) nor a "
                             "variable in the notebook")  # fmt: skip
        from ..tracking import tracked

        result, _ = tracked(lambda: None, name=f"deploy-{name}", user_ns=self.shell.user_ns, model=model,
                            model_input=input_var, cell="", tags={"mlops_magics.logged_for": f"%deploy --name {name}"})  # fmt: skip
        return result.model_uri


def load_ipython_extension(ip):
    ip.register_magics(DeployMagics)
