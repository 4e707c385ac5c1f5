"""Markov algorithms: ordered string-rewrite rules, the building block of the paper's synthetic task."""

from divlab.markov.engine import HaltReason, MarkovAlgorithm, Rule, RunResult, Step, rewrite_once
from divlab.markov.notation import RulesSyntaxError, format_rule, parse_rules, parse_rules_file

__all__ = [
    "HaltReason",
    "MarkovAlgorithm",
    "Rule",
    "RunResult",
    "RulesSyntaxError",
    "Step",
    "format_rule",
    "parse_rules",
    "parse_rules_file",
    "rewrite_once",
]
