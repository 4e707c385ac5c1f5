"""Instruction-data tasks, registered by name; each task's code is imported only when it is used."""

from divlab.errors import ConfigError
from divlab.tasks.registry import TaskSpec, get_task, register_task, task_names

register_task(TaskSpec(
    name="rewrite", config="divlab.tasks.rewrite.config:RewriteConfig",
    generator="divlab.tasks.rewrite.generator:generate_rewrite",
    description="single-rule string rewrite (x, y, z) -> z' (paper §1.2)"))
register_task(TaskSpec(
    name="encrypted", config="divlab.tasks.encrypted.config:EncryptedConfig",
    generator="divlab.tasks.encrypted.generator:generate_encrypted",
    description="replace-then-encrypt rewriting as prompt/completion text for pretrained LLMs (paper §2.6)"))
register_task(TaskSpec(
    name="algebra", config="divlab.tasks.algebra.config:AlgebraConfig",
    generator="divlab.tasks.algebra.generator:generate_algebra",
    description="abstract algebraic identities applied to expression trees (paper E7, §2.7)"))
register_task(TaskSpec(
    name="program", config="divlab.tasks.program.config:ProgramConfig",
    generator="divlab.tasks.program.generator:generate_program",
    description="whole Markov algorithms as instructions: (program, input) -> output once it halts (beyond the paper)"))

__all__ = ["ConfigError", "TaskSpec", "get_task", "register_task", "task_names"]
