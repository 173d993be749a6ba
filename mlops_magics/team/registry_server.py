"""Feast's gRPC registry server, bound to one host: ``feast serve_registry`` listens on every interface
(``[::]:PORT``, hard-coded), which would expose the registry even when everything else is on loopback.

    python -m mlops_magics.team.registry_server HOST PORT REPO_FOLDER
"""

from __future__ import annotations

import sys


def main(host: str, port: int, repo: str) -> None:
    import grpc
    from feast import FeatureStore, registry_server

    make_server = grpc.server
    bind = f"[{host}]" if ":" in host else host

    def bound_server(*args, **kwargs):
        server = make_server(*args, **kwargs)
        for name in ("add_insecure_port", "add_secure_port"):
            add = getattr(server, name)
            setattr(server, name, lambda address, *rest, _add=add: _add(address.replace("[::]", bind), *rest))
        return server

    registry_server.grpc.server = bound_server
    registry_server.start_server(FeatureStore(repo_path=repo), port)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
