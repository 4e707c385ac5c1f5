"""Instruction-data tasks, registered by name; each task's code is imported only when it is used. A task
outside divlab is a `TaskSpec` named by a `divlab.tasks` entry point or given as "module:attr"."""

from divlab.errors import ConfigError
from divlab.tasks.registry import (CHARACTER_ROWS, RULE_INSTRUCTION, TASKS, TaskSpec, find_task, get_task,
                                   register_task, task_names)

register_task(TaskSpec(
    name="rewrite", config="divlab.tasks.rewrite.config:RewriteConfig",
    generator="divlab.tasks.rewrite.generator:generate_rewrite",
    description="single-rule string rewrite (x, y, z) -> z' (paper §1.2)",
    rows=CHARACTER_ROWS, instruction=RULE_INSTRUCTION, kind="rewrite",
    summary_fields=("alphabet", "x_len", "y_len", "z_len")))
register_task(TaskSpec(
    name="encrypted", config="divlab.tasks.encrypted.config:EncryptedConfig",
    generator="divlab.tasks.encrypted.generator:generate_encrypted",
    description="replace-then-encrypt rewriting as prompt/completion text for pretrained LLMs (paper §2.6)",
    kind="encrypted", summary_fields=("alphabet", "x_len", "y_len", "z_len")))
register_task(TaskSpec(
    name="algebra", config="divlab.tasks.algebra.config:AlgebraConfig",
    generator="divlab.tasks.algebra.generator:generate_algebra",
    description="abstract algebraic identities applied to expression trees (paper E7, §2.7)",
    rows=CHARACTER_ROWS, instruction=RULE_INSTRUCTION, extra_splits={"test_depth": "depth"}, kind="algebra",
    summary_fields=("rule_source", "notation", "depth", "pattern_depth", "test_pattern_depth")))
register_task(TaskSpec(
    name="program", config="divlab.tasks.program.config:ProgramConfig",
    generator="divlab.tasks.program.generator:generate_program",
    description="whole Markov algorithms as instructions: (program, input) -> output once it halts (beyond the paper)",
    rows=CHARACTER_ROWS, instruction=RULE_INSTRUCTION, kind="program", breakdowns=("steps",),
    summary_fields=("alphabet", "markers", "rules_per_program", "pattern_len", "replacement_len", "input_len",
                    "max_steps")))

__all__ = ["CHARACTER_ROWS", "ConfigError", "RULE_INSTRUCTION", "TASKS", "TaskSpec", "find_task", "get_task", "register_task",
           "task_names"]
