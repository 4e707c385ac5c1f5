"""Task registry: a task is a typed config class, a generator and its preset files.

Entries name their config class and generator as "module:attribute" strings and are imported only when a
task is used (as lm-evaluation-harness does), so listing tasks or presets loads no task code. A new task
(algebra rewriting, multi-rule programs, ...) is a package plus one `register_task` line in
`divlab/tasks/__init__.py`; the CLI (`divlab generate --task NAME`) looks tasks up by name and never changes.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from divlab.errors import ConfigError
from divlab.preset_files import find_preset, preset_names, read_toml


def load_attribute(reference: str):
    """The object named by "package.module:attribute"."""
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class TaskSpec:
    name: str
    config: str  # "module:ConfigClass": a frozen dataclass with from_dict / to_dict
    generator: str  # "module:function": generate(config, out_dir, *, overwrite, progress) -> manifest
    description: str = ""

    @property
    def config_class(self) -> type:
        return load_attribute(self.config)

    def generate(self, config, out_dir, **options) -> dict:
        return load_attribute(self.generator)(config, out_dir, **options)

    def preset_names(self) -> list[str]:
        return preset_names("tasks", self.name)

    def preset_values(self, preset: str) -> dict:
        return find_preset(("tasks", self.name), preset)[0]

    def build_config(
        self,
        preset: str | None = None,
        config_file: str | Path | None = None,
        overrides: Mapping[str, Any] | None = None,
    ):
        """Preset, then config file, then overrides; unknown fields and bad values raise ConfigError."""
        config_class = self.config_class
        values: dict[str, Any] = {}
        if preset:
            values.update(self.preset_values(preset))
        if config_file:
            path = Path(config_file)
            if not path.is_file():
                raise ConfigError("config", str(path), "config file not found")
            _merge(values, read_toml(path, "config file"), config_class)
        _merge(values, dict(overrides or {}), config_class)
        return config_class.from_dict(values)


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
        raise ConfigError("task", spec.name, "already registered")
    _TASKS[spec.name] = spec
    return spec


def get_task(name: str) -> TaskSpec:
    try:
        return _TASKS[name]
    except KeyError:
        raise ConfigError("task", name, f"unknown task; known: {', '.join(sorted(_TASKS))}") from None


def task_names() -> list[str]:
    return sorted(_TASKS)
