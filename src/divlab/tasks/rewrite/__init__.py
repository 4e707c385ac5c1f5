"""The paper's single-rule rewrite task: (x, y, z) -> z with the leftmost x replaced by y once."""

from divlab.tasks.registry import TaskSpec, register_task
from divlab.tasks.rewrite.config import FamilySpec, RewriteConfig
from divlab.tasks.rewrite.generator import generate_rewrite

TASK = register_task(
    TaskSpec(
        name="rewrite",
        config_class=RewriteConfig,
        generate=generate_rewrite,
        description="single-rule string rewrite (x, y, z) -> z' (paper §1.2)",
    )
)

__all__ = ["FamilySpec", "RewriteConfig", "TASK", "generate_rewrite"]
