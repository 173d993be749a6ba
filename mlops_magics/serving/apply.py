"""Manifests applied to a cluster with the Kubernetes client (``%deploy --target seldon --apply``).

Inside a pod (a pipeline step) the pod's service account is used; elsewhere the kubeconfig
(``KUBECONFIG`` or ``~/.kube/config``), as ``kubectl`` does. Each document is created, or replaced when it
exists (with its ``resourceVersion``), so applying twice moves the deployment to the new model.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import BackendError, UserInputError

IN_CLUSTER_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
FIELD_MANAGER = "mlops-magics"


def api_client(context: str | None = None):
    """(ApiClient, default namespace): the pod's service account inside a cluster, else the kubeconfig."""
    from kubernetes import client
    from kubernetes import config as kube_config
    from kubernetes.config.config_exception import ConfigException

    if os.environ.get("KUBERNETES_SERVICE_HOST") and not context:
        try:
            kube_config.load_incluster_config()
            namespace = (
                IN_CLUSTER_NAMESPACE.read_text().strip() if IN_CLUSTER_NAMESPACE.is_file() else "default"
            )
            return client.ApiClient(), namespace
        except ConfigException:
            pass  # a pod without a service account token: the kubeconfig, if any
    path = os.environ.get("KUBECONFIG") or "~/.kube/config"  # read now: the client reads it once, at import
    try:
        kube_config.load_kube_config(config_file=path, context=context)
        _, active = kube_config.list_kube_config_contexts(config_file=path)
    except (ConfigException, OSError, TypeError) as exc:
        raise UserInputError(f"--apply needs a cluster: no usable Kubernetes configuration ({path}: "
                             f"{str(exc).splitlines()[0][:200]}); run inside a pod with a service account, or "
                             "set KUBECONFIG") from None  # fmt: skip
    return client.ApiClient(), (active.get("context") or {}).get("namespace") or "default"


def _route(doc: dict) -> tuple[str, str, str]:
    """(group, version, plural) of a custom resource document."""
    group, _, version = doc["apiVersion"].rpartition("/")
    if not group:
        raise UserInputError(f"{doc['kind']}: only custom resources are applied (apiVersion GROUP/VERSION)")
    return group, version, doc["kind"].lower() + "s"  # Model -> models, InferenceService -> inferenceservices


def _message(exc) -> str:
    """The cluster's own words (the Status object's message), else the body as it came."""
    import json

    try:
        return json.loads(exc.body or "{}").get("message") or ""
    except (ValueError, AttributeError):
        return str(exc.body or "")[:300]


def apply(documents: list[dict], namespace: str | None = None, context: str | None = None) -> list[tuple]:
    """Create or replace each document; returns ``[(kind, name, namespace, "created"|"replaced")]``. A
    refusal by the cluster (invalid spec, no permission) stops at that document and says which."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    api, default_namespace = api_client(context)
    namespace = namespace or default_namespace
    objects = client.CustomObjectsApi(api)
    done = []
    for doc in documents:
        group, version, plural = _route(doc)
        name = doc["metadata"]["name"]
        where = f"{doc['kind']} {name} in namespace {namespace}"
        try:
            try:
                objects.create_namespaced_custom_object(group, version, namespace, plural, doc,
                                                        field_manager=FIELD_MANAGER)  # fmt: skip
                done.append((doc["kind"], name, namespace, "created"))
                continue
            except ApiException as exc:
                if exc.status != 409:  # 409: it exists; replaced below
                    raise
            current = objects.get_namespaced_custom_object(group, version, namespace, plural, name)
            body = {
                **doc,
                "metadata": {**doc["metadata"], "resourceVersion": current["metadata"]["resourceVersion"]},
            }
            objects.replace_namespaced_custom_object(group, version, namespace, plural, name, body,
                                                     field_manager=FIELD_MANAGER)  # fmt: skip
            done.append((doc["kind"], name, namespace, "replaced"))
        except ApiException as exc:
            reason = exc.reason or ""
            if exc.status in (401, 403):
                raise UserInputError(f"the cluster refused {where}: {exc.status} {reason} (does the service "
                                     "account or kubeconfig user may create it?)") from None  # fmt: skip
            raise BackendError(
                f"Kubernetes API: apply {where}", f"{exc.status} {reason}: {_message(exc)}"
            ) from None
        except HTTPError as exc:
            raise BackendError(f"Kubernetes API at {api.configuration.host}: apply {where}", exc) from None
    return done
