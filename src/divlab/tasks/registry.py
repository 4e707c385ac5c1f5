"""Task registry: a task is a typed config class, a generator, its preset files and the facts other packages
need about its data (row format, what its instruction is, extra test splits, default kind).

Entries name their config class and generator as "module:attribute" strings and are imported only when a
task is used (as lm-evaluation-harness does), so listing tasks or presets loads no task code. A new task is a
package plus one `register_task` line in `divlab/tasks/__init__.py`, or, outside divlab, a `TaskSpec` named
by a `divlab.tasks` entry point or given as "module:attr" (`divlab generate --task mypkg:TASK`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from divlab.data.card import describe_tasks_with
from divlab.errors import ConfigError
from divlab.preset_files import find_preset, preset_names, read_toml
from divlab.registry import Registry, load_attribute

CHARACTER_ROWS = "characters"  # rows x, y, z, target over the characters the manifest names
RULE_INSTRUCTION = "rule"  # an instruction is a rule "x -> y" of rules_train.jsonl


@dataclass(frozen=True)
class TaskSpec:
    name: str
    config: str  # "module:ConfigClass": a frozen dataclass with from_dict / to_dict
    generator: str  # "module:function": generate(config, out_dir, *, overwrite, progress) -> manifest
    description: str = ""
    # Facts about the task's data, read by the packages that use it (none keeps a list of task names):
    rows: str = "text"  # CHARACTER_ROWS: the from-scratch trainer reads them; "text": prompt/completion
    instruction: str = "prompt"  # RULE_INSTRUCTION, or the row field that holds an instruction
    extra_splits: Mapping[str, str] = field(default_factory=dict)  # further test split -> result key
    kind: str | None = None  # the experiment kind that trains on it
    breakdowns: tuple[str, ...] = ("occurrences",)  # integer row fields exact match is broken down by
    summary_fields: tuple[str, ...] = ()  # config fields that say what its examples look like (`generate`'s summary)

    @property
    def character_rows(self) -> bool:
        return self.rows == CHARACTER_ROWS

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


TASKS = Registry("task", "divlab.tasks", "task", check=lambda value: isinstance(value, TaskSpec))


def register_task(spec: TaskSpec) -> TaskSpec:
    TASKS.register(spec.name, spec)
    return spec


def get_task(name: str) -> TaskSpec:
    return TASKS.get(name)


def _describe(name: str) -> str:
    return get_task(name).description


describe_tasks_with(_describe)  # dataset cards name the task's description (data cannot import tasks)


def find_task(name) -> TaskSpec | None:
    """The task a dataset's manifest names, or None when this process knows no such task."""
    return TASKS.get(name) if isinstance(name, str) and name in TASKS else None


def task_names() -> list[str]:
    return TASKS.names()
