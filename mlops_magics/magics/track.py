"""%track: reserved until issue #3 lands."""

from ._base import reserved

TrackMagics = reserved("track", "line_cell", 3)


def load_ipython_extension(ip):
    ip.register_magics(TrackMagics)
