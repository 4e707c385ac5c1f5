"""Instruction-data tasks. Each task registers itself; the CLI finds them through the registry."""

from divlab.tasks.registry import ConfigError, TaskSpec, get_task, register_task, task_names

# Importing a task module registers it.
from divlab.tasks import rewrite as _rewrite  # noqa: F401,E402
from divlab.tasks import encrypted as _encrypted  # noqa: F401,E402

__all__ = ["ConfigError", "TaskSpec", "get_task", "register_task", "task_names"]
