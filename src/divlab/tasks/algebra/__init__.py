"""The algebra task (paper E7): abstract identities applied to expression trees."""

from divlab.tasks.algebra.config import AlgebraConfig
from divlab.tasks.algebra.generator import generate_algebra

__all__ = ["AlgebraConfig", "generate_algebra"]
