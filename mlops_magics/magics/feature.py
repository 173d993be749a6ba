"""%feature: reserved until issue #4 lands."""

from ._base import reserved

FeatureMagics = reserved("feature", "line_cell", 4)


def load_ipython_extension(ip):
    ip.register_magics(FeatureMagics)
