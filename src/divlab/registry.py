"""One registry shape for everything divlab looks up by name: tasks, experiment kinds, suite benchmarks and
diversity measures.

A name maps to a "module:attribute" reference that is imported only when the entry is used (as
lm-evaluation-harness does), so listing names loads no code. Entries come from three places:
- divlab's own table (`Registry(..., builtin={...})`);
- Python entry points of the registry's group (`divlab.tasks`, `divlab.kinds`, `divlab.benchmarks`,
  `divlab.measures`): a plug-in package declares them and no divlab file is edited;
- a "module:attribute" given where a name is expected (a preset's `kind`, `--task`): used as it is.
An unknown name is one ConfigError naming it and listing the known names.
"""

from __future__ import annotations

import importlib
from importlib import metadata
from typing import Any, Callable

from divlab.errors import ConfigError


def load_attribute(reference: str):
    """The object named by "package.module:attribute" (a dotted attribute path is followed)."""
    module, _, attribute = reference.partition(":")
    target = importlib.import_module(module)
    for part in attribute.split("."):
        target = getattr(target, part)
    return target


def is_reference(name: str) -> bool:
    """Whether `name` is a "module:attribute" reference rather than a registered name."""
    module, colon, attribute = name.partition(":")
    return bool(colon and module and attribute)


class Registry:
    """name -> lazily loaded object. `field` names the config field an unknown name is reported under;
    `what` says what an entry is ("task", "experiment kind", ...)."""

    def __init__(self, what: str, group: str, field: str, builtin: dict[str, Any] | None = None,
                 check: Callable[[Any], bool] | None = None):
        self.what, self.group, self.field = what, group, field
        self._entries: dict[str, Any] = dict(builtin or {})  # name -> "module:attr" or the object itself
        self._plugins: dict[str, str] | None = None
        self._loaded: dict[str, Any] = {}
        self._check = check

    def register(self, name: str, entry: Any) -> None:
        """Add an entry (a "module:attr" string or the object); a name is registered once."""
        if name in self._entries:
            raise ConfigError(self.field, name, f"{self.what} already registered")
        self._entries[name] = entry

    def plugins(self) -> dict[str, str]:
        """Entry points of this registry's group: name -> "module:attr" (read once per process)."""
        if self._plugins is None:
            self._plugins = {ep.name: ep.value for ep in metadata.entry_points(group=self.group)}
        return self._plugins

    def names(self) -> list[str]:
        return sorted({*self._entries, *self.plugins()})

    def __contains__(self, name: str) -> bool:
        return name in self._entries or name in self.plugins() or name in self._loaded or is_reference(name)

    def reference(self, name: str) -> str | None:
        """The "module:attr" an entry is loaded from (None for an entry registered as an object)."""
        entry = self._entries[name] if name in self._entries else self.plugins().get(name)
        if entry is None and is_reference(name):
            entry = name
        return entry if isinstance(entry, str) else None

    def get(self, name: str) -> Any:
        if name in self._loaded:
            return self._loaded[name]
        entry = self._entries[name] if name in self._entries else self.plugins().get(name)
        by_reference = entry is None
        if by_reference:
            if not is_reference(name):
                raise ConfigError(self.field, name, f"unknown {self.what}; known: {', '.join(self.names())}")
            entry = name
        try:
            value = load_attribute(entry) if isinstance(entry, str) else entry
        except (ImportError, AttributeError) as error:
            if not by_reference:  # a broken shipped or installed entry is a bug: keep the traceback
                raise
            raise ConfigError(self.field, name, f"cannot load {self.what} ({error})") from None
        if self._check is not None and not self._check(value):
            raise ConfigError(self.field, name, f"{entry} is not a {self.what}")
        self._loaded[name] = value
        own = getattr(value, "name", None)
        if by_reference and isinstance(own, str) and own not in self:
            # Named by reference once, known by its own name for the rest of the process (a dataset's manifest
            # records the task's name, which the trainer then looks up).
            self._loaded[own] = value
        return value

    def describe(self) -> str:
        """One line for --help: the names that can be given."""
        return f"{self.what}: {', '.join(self.names())}, or module:attribute"
