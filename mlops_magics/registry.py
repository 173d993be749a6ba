"""Registries of classes, as papermill keeps its engines: the kinds a verb can take (deploy targets,
pipeline engines) by name, built-in ones named here as ``module:Class`` (imported when first used) and
others from an entry-point group of any installed package. A new kind is one class in one file.

Each class lists the keyword options it takes; an option given to a kind that has no use for it is
refused by name (saying which kinds take it), so nothing a user typed is silently dropped.
"""

from __future__ import annotations

import importlib

from .errors import UserInputError


class Registry:
    def __init__(self, group: str, builtin: dict[str, str], option: str):
        self.group = group  # entry-point group, e.g. "mlops_magics.deploy_targets"
        self.builtin = builtin  # name -> "module:Class"
        self.option = option  # how users choose one, e.g. "--target"

    def _entry_points(self) -> dict[str, str]:
        from importlib.metadata import entry_points

        return {ep.name: ep.value for ep in entry_points(group=self.group)}

    def names(self) -> list[str]:
        """The built-in kinds, then those other packages declare."""
        return list(dict.fromkeys([*self.builtin, *self._entry_points()]))

    def get(self, name: str) -> type:
        spec = self.builtin.get(name) or self._entry_points().get(name)
        if spec is None:
            raise UserInputError(f"{self.option} {name!r}: use one of {', '.join(self.names())}")
        module, _, attr = spec.partition(":")
        return getattr(importlib.import_module(module), attr)

    def check_options(self, cls: type, options: dict) -> None:
        """Refuse an option ``cls`` does not take, saying which kinds take it."""
        for option in options:
            if option not in cls.options:
                takers = [n for n in self.names() if option in self.get(n).options]
                where = f"; it is for {self.option} {' or '.join(takers)}" if takers else ""
                raise UserInputError(f"{flag(option)} does not apply to {self.option} {cls.name}{where}")


def flag(option: str) -> str:
    """``storage_uri`` -> ``--storage-uri``."""
    return "--" + option.replace("_", "-")
