"""Evaluation: exact match by one teacher-forced pass, real greedy decoding, metric breakdowns."""

from divlab.evaluate.exact_match import teacher_forced_correct
from divlab.evaluate.greedy import greedy_decode
from divlab.evaluate.metrics import breakdown, evaluate_run

__all__ = ["breakdown", "evaluate_run", "greedy_decode", "teacher_forced_correct"]
