"""Helpers for the frozen config dataclasses that every task, model and trainer validates itself with."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from divlab.errors import ConfigError


def check_known_fields(config_class: type, values: Mapping[str, Any], what: str = "field") -> None:
    known = {f.name for f in dataclasses.fields(config_class)}
    for key in values:
        if key not in known:
            raise ConfigError(key, values[key], f"unknown {what}; known: {', '.join(sorted(known))}")


def values_with_exclusive_groups(config_class: type, values: Mapping[str, Any]) -> dict:
    """Known fields only, and for each of the class's EXCLUSIVE_GROUPS (a default field, then its alternative,
    e.g. budget and examples_per_rule): giving the alternative alone unsets the default."""
    check_known_fields(config_class, values)
    values = dict(values)
    for default, alternative in getattr(config_class, "EXCLUSIVE_GROUPS", ()):
        if values.get(alternative) is not None and default not in values:
            values[default] = None
    return values
