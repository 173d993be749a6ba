"""%drift: reserved until issue #6 lands."""

from ._base import reserved

DriftMagics = reserved("drift", "line", 6)


def load_ipython_extension(ip):
    ip.register_magics(DriftMagics)
