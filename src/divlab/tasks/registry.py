"""Task registry: a task is a typed config class, a generator and its preset files.

A new task (encrypted rewriting, algebra rewriting, multi-rule programs, ...) is a module that calls
`register_task`; the CLI and the experiment code look tasks up by name and never change.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Mapping


class ConfigError(ValueError):
    """A configuration that cannot be satisfied; the message names the field and the value."""

    def __init__(self, field: str, value: Any, problem: str):
        self.field = field
        self.value = value
        super().__init__(f"{field}={value!r}: {problem}")


@dataclass(frozen=True)
class TaskSpec:
    name: str
    config_class: type
    # generate(config, out_dir, *, progress) -> summary dict
    generate: Callable[..., dict]
    description: str = ""

    def preset_dir(self):
        return resources.files("divlab").joinpath("presets", "tasks", self.name)

    def preset_names(self) -> list[str]:
        folder = self.preset_dir()
        if not folder.is_dir():
            return []
        return sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))

    def preset_values(self, preset: str) -> dict:
        path = self.preset_dir().joinpath(f"{preset}.toml")
        if not path.is_file():
            raise ConfigError("preset", preset, f"unknown preset for task {self.name!r}; known: {', '.join(self.preset_names())}")
        return tomllib.loads(path.read_text(encoding="utf-8"))

    def build_config(
        self,
        preset: str | None = None,
        config_file: str | Path | None = None,
        overrides: Mapping[str, Any] | None = None,
    ):
        """Preset, then config file, then overrides; unknown fields and bad values raise ConfigError."""
        values: dict[str, Any] = {}
        if preset:
            values.update(self.preset_values(preset))
        if config_file:
            path = Path(config_file)
            if not path.is_file():
                raise ConfigError("config", str(path), "config file not found")
            try:
                loaded = tomllib.loads(path.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as error:
                raise ConfigError("config", str(path), f"not valid TOML ({error})") from None
            _merge(values, loaded, self.config_class)
        _merge(values, dict(overrides or {}), self.config_class)
        return self.config_class.from_dict(values)


def _merge(values: dict, layer: Mapping[str, Any], config_class: type) -> None:
    """Later layers win; setting one field of an exclusive group (budget / examples per rule) drops the others."""
    for group in getattr(config_class, "EXCLUSIVE_GROUPS", ()):
        if any(name in layer for name in group):
            for name in group:
                if name not in layer:
                    values.pop(name, None)
    values.update(layer)


_TASKS: dict[str, TaskSpec] = {}


def register_task(spec: TaskSpec) -> TaskSpec:
    if spec.name in _TASKS:
        raise ValueError(f"task {spec.name!r} is already registered")
    _TASKS[spec.name] = spec
    return spec


def get_task(name: str) -> TaskSpec:
    try:
        return _TASKS[name]
    except KeyError:
        raise ConfigError("task", name, f"unknown task; known: {', '.join(sorted(_TASKS))}") from None


def task_names() -> list[str]:
    return sorted(_TASKS)


def check_known_fields(config_class: type, values: Mapping[str, Any]) -> None:
    known = {f.name for f in dataclasses.fields(config_class)}
    for key in values:
        if key not in known:
            raise ConfigError(key, values[key], f"unknown field; known fields: {', '.join(sorted(known))}")
