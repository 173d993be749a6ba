"""The token check of ``mlops-magics serve --token``: MLflow's basic-auth app calls this for every
request (``authorization_function`` in its auth.ini). A request passes with ``Authorization: Bearer T``
(``MLFLOW_TRACKING_TOKEN``) or a basic-auth password T (any user name). Runs inside the MLflow server."""

from __future__ import annotations

import hmac
import os


def authenticate():
    from flask import request
    from mlflow.server.auth import make_basic_auth_response
    from werkzeug.datastructures import Authorization

    token = os.environ["MLOPS_SERVER_TOKEN"]
    header = request.headers.get("Authorization", "")
    given = (
        header[7:]
        if header.startswith("Bearer ")
        else (request.authorization.password if request.authorization else None)
    )
    if given and hmac.compare_digest(given.encode(), token.encode()):
        return Authorization(
            "basic", {"username": "admin"}
        )  # the admin user the app created at its first start
    return make_basic_auth_response()
