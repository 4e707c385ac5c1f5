"""The paper's single-rule rewrite task: (x, y, z) -> z with the leftmost x replaced by y once."""

from divlab.tasks.rewrite.config import FamilySpec, RewriteConfig
from divlab.tasks.rewrite.generator import generate_rewrite

__all__ = ["FamilySpec", "RewriteConfig", "generate_rewrite"]
