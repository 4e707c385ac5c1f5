"""Markov-algorithm engine.

Semantics (Markov 1954; paper appendix A): at each step the first rule, in order, whose pattern occurs in
the text is applied once, at its leftmost occurrence. The run stops when a terminating rule fires, when no
rule applies, or, to stop runaway algorithms, when a step limit is reached. Patterns are literal text; an
empty pattern occurs at position 0 of every string (the classic way to prepend a marker).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Iterable, Sequence
from divlab.errors import ConfigError


def rewrite_once(pattern: str, replacement: str, text: str) -> str:
    """The paper's single-instruction task: replace the leftmost occurrence of `pattern` once (or copy)."""
    return text.replace(pattern, replacement, 1)


@dataclass(frozen=True)
class Rule:
    pattern: str
    replacement: str
    terminating: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.pattern, str) or not isinstance(self.replacement, str):
            raise TypeError(f"rule pattern and replacement must be str, got {self.pattern!r} -> {self.replacement!r}")


class HaltReason(str, enum.Enum):
    TERMINATING_RULE = "terminating_rule"
    NO_RULE_APPLIES = "no_rule_applies"
    STEP_LIMIT = "step_limit"


@dataclass(frozen=True)
class Step:
    """One rewrite: which rule (index into the algorithm) fired, where, and the text before and after."""

    index: int
    rule_index: int
    position: int
    before: str
    after: str


@dataclass(frozen=True)
class RunResult:
    result: str
    steps: int
    halt_reason: HaltReason
    trace: tuple[Step, ...] = field(default=(), repr=False)

    @property
    def halted(self) -> bool:
        """True when the algorithm stopped by itself (not cut off by the step limit)."""
        return self.halt_reason is not HaltReason.STEP_LIMIT


class MarkovAlgorithm:
    """An ordered list of rules. `run` executes it; `step` applies one rewrite."""

    def __init__(self, rules: Iterable[Rule]):
        self.rules: tuple[Rule, ...] = tuple(rules)

    def __len__(self) -> int:
        return len(self.rules)

    def __repr__(self) -> str:
        return f"MarkovAlgorithm({list(self.rules)!r})"

    def find_applicable(self, text: str) -> tuple[int, int] | None:
        """(rule index, leftmost position) of the first rule whose pattern occurs in `text`, else None."""
        for rule_index, rule in enumerate(self.rules):
            position = text.find(rule.pattern)
            if position >= 0:
                return rule_index, position
        return None

    def step(self, text: str) -> tuple[str, int, int] | None:
        """Apply one rewrite: (new text, rule index, position), or None when no rule applies."""
        found = self.find_applicable(text)
        if found is None:
            return None
        rule_index, position = found
        rule = self.rules[rule_index]
        new_text = text[:position] + rule.replacement + text[position + len(rule.pattern):]
        return new_text, rule_index, position

    def run(self, text: str, max_steps: int = 10_000, trace: bool = False, on_step=None) -> RunResult:
        """`trace`: keep every step in the result; `on_step(step)`: hand each step over as it happens
        instead (a runaway algorithm's trace is streamed, never held: its texts may be long)."""
        if max_steps < 0:
            raise ConfigError("max_steps", max_steps, "must be >= 0")
        steps: list[Step] = []
        for count in range(max_steps + 1):
            outcome = self.step(text)
            if outcome is None:
                return RunResult(text, count, HaltReason.NO_RULE_APPLIES, tuple(steps))
            if count == max_steps:
                # A rule still applies but the budget is spent: the algorithm did not halt.
                return RunResult(text, count, HaltReason.STEP_LIMIT, tuple(steps))
            new_text, rule_index, position = outcome
            if on_step is not None:
                on_step(Step(count + 1, rule_index, position, text, new_text))
            elif trace:
                steps.append(Step(count + 1, rule_index, position, text, new_text))
            text = new_text
            if self.rules[rule_index].terminating:
                return RunResult(text, count + 1, HaltReason.TERMINATING_RULE, tuple(steps))
        raise AssertionError("unreachable")  # the loop always returns


def run_rules(rules: Sequence[Rule], text: str, max_steps: int = 10_000, trace: bool = False) -> RunResult:
    return MarkovAlgorithm(rules).run(text, max_steps=max_steps, trace=trace)
