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
