"""Config of the program task (issue e8): whole Markov algorithms as instructions. An instruction is a program
of k ordered rules; an example is (program, input) -> the output once the program halts (or its trace)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from divlab.errors import ConfigError
from divlab.tasks.rewrite.config import IntRange, _as_range
from divlab.typed_config import values_with_exclusive_groups

# How a program is written for the model: "ab>ba;c>.d" is [ab -> ba, c -> .d (terminating)]; a trace target
# joins the strings after each step with "|".
ARROW, TERMINATES, SEPARATOR, TRACE_SEPARATOR = ">", ".", ";", "|"
SYNTAX = ARROW + TERMINATES + SEPARATOR + TRACE_SEPARATOR
TARGETS = ("final", "trace")


@dataclass(frozen=True)
class ProgramConfig:
    alphabet: str = "abcdef"  # the letters of inputs and rules
    markers: str = ""  # extra symbols rules may use and inputs never hold (the classic auxiliary letters)
    rules_per_program: IntRange = (2, 2)  # k
    pattern_len: IntRange = (1, 2)
    replacement_len: IntRange = (1, 2)
    terminating_rate: float = 0.0  # each rule is terminating with this probability
    input_len: IntRange = (8, 8)
    max_steps: int = 16  # S: a program must halt within S steps on every example (others are dropped, counted)
    min_steps: int = 1  # rewrites that must fire on a has-op example, so that programs are not trivial
    noop_fraction: float = 0.0  # examples where no rule applies at all
    num_train_programs: int = 100
    num_test_programs: int = 40
    budget: int | None = 40_000
    examples_per_program: int | None = None
    num_test_examples: int = 1_000
    num_seen_test_examples: int = 1_000
    target: str = "final"  # final: the halted string; trace: every intermediate string
    held_out_shapes: Any = None  # [[|pattern|, |replacement|], ...]: rule shapes only test programs use
    format: str = "jsonl"
    seed: int = 0

    EXCLUSIVE_GROUPS = (("budget", "examples_per_program"),)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "ProgramConfig":
        return cls(**values_with_exclusive_groups(cls, values))

    def to_dict(self) -> dict:
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "held_out_shapes" and value is not None:
                value = [list(shape) for shape in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    @property
    def train_size(self) -> int:
        return self.budget if self.budget is not None else self.num_train_programs * self.examples_per_program

    @property
    def vocabulary(self) -> str:
        """Every character an example can hold: the model's alphabet."""
        return "".join(dict.fromkeys(self.alphabet + self.markers + SYNTAX))

    def __post_init__(self) -> None:
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 - frozen; normalized once
        for name in ("alphabet", "markers"):
            value = getattr(self, name)
            if not isinstance(value, str) or len(set(value)) != len(value):
                raise ConfigError(name, value, "must be a string of distinct characters")
            clash = sorted(set(value) & set(SYNTAX))
            if clash:
                raise ConfigError(name, value, f"holds {''.join(clash)!r}, which write programs ({SYNTAX!r})")
        if len(self.alphabet) < 2:
            raise ConfigError("alphabet", self.alphabet, "needs at least 2 letters")
        if set(self.alphabet) & set(self.markers):
            raise ConfigError("markers", self.markers, "must not repeat letters of the alphabet")
        set_("rules_per_program", _as_range("rules_per_program", self.rules_per_program, minimum=1))
        set_("pattern_len", _as_range("pattern_len", self.pattern_len, minimum=1))
        set_("replacement_len", _as_range("replacement_len", self.replacement_len, minimum=0))
        set_("input_len", _as_range("input_len", self.input_len, minimum=1))
        if self.pattern_len[1] > self.input_len[0]:
            raise ConfigError("pattern_len", list(self.pattern_len), f"patterns can be longer than the input "
                              f"(input_len {list(self.input_len)})")
        for name in ("max_steps", "min_steps", "num_train_programs", "num_test_programs", "num_test_examples",
                     "num_seen_test_examples"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < (1 if name in ("max_steps", "num_train_programs") else 0):
                raise ConfigError(name, value, "must be a non-negative integer" + (" >= 1" if name in ("max_steps", "num_train_programs") else ""))
        if self.max_steps < self.min_steps:
            raise ConfigError("max_steps", self.max_steps, f"is too small for min_steps = {self.min_steps} firing steps")
        for name in ("terminating_rate", "noop_fraction"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ConfigError(name, value, "must be a number in [0, 1]")
            set_(name, float(value))
        if self.target not in TARGETS:
            raise ConfigError("target", self.target, f"must be one of {', '.join(TARGETS)}")
        if (self.budget is None) == (self.examples_per_program is None):
            raise ConfigError("budget", self.budget, "set exactly one of budget and examples_per_program")
        size = self.budget if self.budget is not None else self.examples_per_program
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ConfigError("budget" if self.budget is not None else "examples_per_program", size, "must be a positive integer")
        if self.format != "jsonl":
            raise ConfigError("format", self.format, "the program task writes jsonl")
        self._check_shapes(set_)
        self._check_program_space()

    def _check_shapes(self, set_) -> None:
        if self.held_out_shapes is None:
            return
        shapes = []
        for shape in self.held_out_shapes:
            if not (isinstance(shape, (list, tuple)) and len(shape) == 2 and all(isinstance(v, int) for v in shape)):
                raise ConfigError("held_out_shapes", self.held_out_shapes, "is a list of [|pattern|, |replacement|] pairs")
            if not (self.pattern_len[0] <= shape[0] <= self.pattern_len[1]
                    and self.replacement_len[0] <= shape[1] <= self.replacement_len[1]):
                raise ConfigError("held_out_shapes", list(shape), "is not a shape the length ranges allow")
            shapes.append(tuple(shape))
        all_shapes = (self.pattern_len[1] - self.pattern_len[0] + 1) * (self.replacement_len[1] - self.replacement_len[0] + 1)
        if len(set(shapes)) >= all_shapes:
            raise ConfigError("held_out_shapes", [list(s) for s in shapes], "holds out every shape; training programs need one")
        set_("held_out_shapes", tuple(sorted(set(shapes))))

    def _check_program_space(self) -> None:
        symbols = len(self.alphabet) + len(self.markers)
        rules = sum(len(self.alphabet) ** p for p in range(self.pattern_len[0], self.pattern_len[1] + 1)) * \
            sum(symbols ** r for r in range(self.replacement_len[0], self.replacement_len[1] + 1)) * \
            (2 if 0.0 < self.terminating_rate < 1.0 else 1)
        programs = rules ** self.rules_per_program[0]
        wanted = self.num_train_programs + self.num_test_programs
        if programs < 2 * wanted:  # rejection sampling of distinct programs needs room
            raise ConfigError("alphabet", self.alphabet, f"allows about {programs:,} distinct programs of "
                              f"{self.rules_per_program[0]} rule(s); {wanted:,} are asked (train + test): use more letters "
                              "or longer rules")
