"""%deploy: reserved until issue #5 lands."""

from ._base import reserved

DeployMagics = reserved("deploy", "line", 5)


def load_ipython_extension(ip):
    ip.register_magics(DeployMagics)
