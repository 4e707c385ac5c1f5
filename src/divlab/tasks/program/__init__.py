"""The program task: whole Markov algorithms (k ordered rules, run to a halt) as instructions."""

from divlab.tasks.program.config import ProgramConfig
from divlab.tasks.program.generator import generate_program

__all__ = ["ProgramConfig", "generate_program"]
