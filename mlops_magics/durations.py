"""Durations as users type them: ``30s``, ``5m``, ``1h``, ``90d``, ``2w``. One parser for every option
that takes one (``--ttl``, ``--window``, ``--every``)."""

from __future__ import annotations

import re
from datetime import timedelta

from .errors import UserInputError

UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_PATTERN = re.compile(r"(\d{1,9})\s*([smhdw])")


def parse(text: str | None, option: str, *, zero_is_none: bool = False) -> timedelta | None:
    """``"90d"`` -> 90 days; empty -> None. ``zero_is_none``: ``"0"`` means no limit (``--ttl 0``)."""
    if text is None or not str(text).strip():
        return None
    text = str(text).strip()
    if zero_is_none and text == "0":
        return None
    m = _PATTERN.fullmatch(text)
    if not m or int(m.group(1)) == 0:
        raise UserInputError(
            f"{option} {text!r}: type a positive number and a unit, e.g. {option} 30s (s, m, h, d, w)"
        )
    return timedelta(**{UNITS[m.group(2)]: int(m.group(1))})
