"""Config of the algebra task (paper E7): which rules, how deep the expressions and the bound sub-trees are,
the no-op share, the budget, the notation, and the specialist / diversifier split."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from divlab.errors import ConfigError
from divlab.tasks.algebra.expr import BINARY, FUNCTIONS, PREFIX_SYMBOL
from divlab.tasks.algebra.rules import RULE_VARIABLES, curated_rules, parse_rule
from divlab.tasks.rewrite.config import IntRange, _as_range
from divlab.typed_config import values_with_exclusive_groups

RULE_SOURCES = ("curated", "random", "custom")
NOTATIONS = ("prefix", "infix")
MAX_DEPTH = 8


@dataclass(frozen=True)
class AlgebraConfig:
    # curated: the hand-written identities; random: identities derived at random; custom: `custom_rules`
    rule_source: str = "curated"
    custom_rules: Any = None  # with rule_source = "custom": ["lhs = rhs" or "name: lhs = rhs", ...]
    num_train_rules: int = 20
    num_test_rules: int = 10  # unseen rules: never in training
    train_rules: Any = None  # curated rule names for training (None: drawn by seed after the test rules)
    test_rules: Any = None  # curated rule names held out (None: drawn by seed)
    rule_depth: IntRange = (1, 3)  # depth of a random rule's left side
    depth: IntRange = (2, 3)  # d: depth of the expression the pattern is planted in
    pattern_depth: IntRange = (1, 2)  # d_p: depth of the sub-tree each rule variable binds
    # Specialist split (Fig. 5b-c): the last `diver_rules` training rules are diversifiers and take
    # `diver_share` of the budget (at `diver_pattern_depth`, default pattern_depth); the others are the
    # specialist rules, tested at `test_pattern_depth` in the split test_depth.
    diver_rules: int = 0
    diver_share: float = 0.0
    diver_pattern_depth: Any = None
    test_pattern_depth: Any = None
    variables: str = "xyztuvwk"
    constants: IntRange = (1, 9)
    functions: Any = FUNCTIONS
    operators: Any = tuple(BINARY)
    noop_fraction: float = 0.0
    budget: int | None = 50_000
    examples_per_rule: int | None = None
    num_test_examples: int = 2_000
    num_seen_test_examples: int = 2_000
    notation: str = "prefix"
    # For pretrained LLMs: rows also carry "prompt" (this template with {x}, {y}, {z}) and "completion" (the target).
    prompt: str | None = None
    alphabet: Any = None  # derived from the notation and the symbols in use; given, it must cover them
    format: str = "jsonl"
    seed: int = 0

    EXCLUSIVE_GROUPS = (("budget", "examples_per_rule"),)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "AlgebraConfig":
        return cls(**values_with_exclusive_groups(cls, values))

    def to_dict(self) -> dict:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v)
                for f in dataclasses.fields(self)}

    @property
    def train_size(self) -> int:
        return self.budget if self.budget is not None else self.num_train_rules * self.examples_per_rule

    @property
    def specialist_rules(self) -> int:
        return self.num_train_rules - self.diver_rules

    def __post_init__(self) -> None:
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 - frozen; normalized once
        if self.rule_source not in RULE_SOURCES:
            raise ConfigError("rule_source", self.rule_source, f"must be one of {', '.join(RULE_SOURCES)}")
        if self.notation not in NOTATIONS:
            raise ConfigError("notation", self.notation, f"must be one of {', '.join(NOTATIONS)}")
        for name in ("rule_depth", "depth", "pattern_depth"):
            set_(name, _as_range(name, getattr(self, name), minimum=1 if name != "depth" else 0))
        for name in ("diver_pattern_depth", "test_pattern_depth"):
            if getattr(self, name) is not None:
                set_(name, _as_range(name, getattr(self, name), minimum=1))
        if self.test_pattern_depth is not None and self.test_pattern_depth[0] <= self.pattern_depth[1]:
            raise ConfigError("test_pattern_depth", list(self.test_pattern_depth), "must be deeper than every training "
                              f"pattern (pattern_depth {list(self.pattern_depth)}): it tests unseen depths")
        for name in ("depth", "pattern_depth", "test_pattern_depth", "diver_pattern_depth", "rule_depth"):
            value = getattr(self, name)
            if value is not None and value[1] > MAX_DEPTH:
                raise ConfigError(name, list(value), f"trees deeper than {MAX_DEPTH} have thousands of symbols; "
                                  "no model's context holds them")
        set_("constants", _as_range("constants", self.constants, minimum=0))
        if self.notation == "prefix" and self.constants[1] > 9:
            raise ConfigError("constants", list(self.constants), "prefix notation writes one character per "
                              "symbol: constants must be single digits (at most 9)")
        self._check_symbols(set_)
        self._check_counts()
        if self.prompt is not None:
            for name in ("{x}", "{y}", "{z}"):
                if not isinstance(self.prompt, str) or name not in self.prompt:
                    raise ConfigError("prompt", self.prompt, f"must contain the placeholder {name}")
        self._check_rule_names(set_)
        set_("alphabet", self._checked_alphabet())

    def _check_symbols(self, set_) -> None:
        functions, operators = tuple(self.functions), tuple(self.operators)
        for name, values, known in (("functions", functions, FUNCTIONS), ("operators", operators, tuple(BINARY))):
            unknown = [v for v in values if v not in known]
            if unknown:
                raise ConfigError(name, list(values), f"unknown {unknown[0]!r}; known: {', '.join(known)}")
        if not operators:
            raise ConfigError("operators", [], "needs at least one binary operator to build expressions")
        set_("functions", functions)
        set_("operators", operators)
        if not self.variables or not self.variables.isalpha() or not self.variables.islower():
            raise ConfigError("variables", self.variables, "must be lowercase letters")
        clash = sorted(set(self.variables) & set(RULE_VARIABLES))
        if clash:
            raise ConfigError("variables", self.variables, f"{''.join(clash)} are rule variables ({RULE_VARIABLES})")

    def _check_counts(self) -> None:
        for name in ("num_train_rules", "num_test_rules", "num_test_examples", "num_seen_test_examples"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < (1 if name == "num_train_rules" else 0):
                raise ConfigError(name, value, "must be a non-negative integer" + (" >= 1" if name == "num_train_rules" else ""))
        if (self.budget is None) == (self.examples_per_rule is None):
            raise ConfigError("budget", self.budget, "set exactly one of budget and examples_per_rule")
        size = self.budget if self.budget is not None else self.examples_per_rule
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ConfigError("budget" if self.budget is not None else "examples_per_rule", size, "must be a positive integer")
        if not 0.0 <= float(self.noop_fraction) <= 1.0:
            raise ConfigError("noop_fraction", self.noop_fraction, "must be in [0, 1]")
        if not 0 <= self.diver_rules < self.num_train_rules:
            raise ConfigError("diver_rules", self.diver_rules, f"must leave at least one specialist rule of the {self.num_train_rules}")
        if not 0.0 <= float(self.diver_share) < 1.0 or (self.diver_share > 0) != (self.diver_rules > 0):
            raise ConfigError("diver_share", self.diver_share, "must be in (0, 1) with diver_rules > 0, and 0 without")
        if self.format != "jsonl":
            raise ConfigError("format", self.format, "the algebra task writes jsonl")

    def inventory(self) -> tuple:
        """The rules that training and unseen test rules are chosen from (curated or custom)."""
        if self.rule_source == "custom":
            return tuple(parse_rule(text) for text in self.custom_rules)
        return curated_rules()

    def _check_rule_names(self, set_) -> None:
        if (self.custom_rules is not None) != (self.rule_source == "custom"):
            raise ConfigError("custom_rules", self.custom_rules, "is given exactly when rule_source is custom")
        if self.rule_source == "custom":
            if not isinstance(self.custom_rules, (list, tuple)) or not self.custom_rules:
                raise ConfigError("custom_rules", self.custom_rules, "must be a non-empty list of 'lhs = rhs' strings")
            set_("custom_rules", tuple(self.custom_rules))
            names = [rule.name for rule in self.inventory()]  # parses each: a bad rule fails here, named
            if len(set(names)) != len(names):
                raise ConfigError("custom_rules", sorted(n for n in names if names.count(n) > 1)[0], "is given twice")
        if self.rule_source == "random":
            for name in ("train_rules", "test_rules"):
                if getattr(self, name) is not None:
                    raise ConfigError(name, getattr(self, name), "names curated rules; rule_source is random")
            return
        known = {rule.name for rule in self.inventory()}
        for name in ("train_rules", "test_rules"):
            names = getattr(self, name)
            if names is None:
                continue
            unknown = [n for n in names if n not in known]
            if unknown:
                raise ConfigError(name, unknown[0], f"is not a {self.rule_source} rule" + (
                    " (see divlab.tasks.algebra.rules.CURATED)" if self.rule_source == "curated" else ""))
            set_(name, tuple(names))
        if self.train_rules is not None and len(self.train_rules) != self.num_train_rules:
            raise ConfigError("train_rules", list(self.train_rules), f"names {len(self.train_rules)} rules; num_train_rules is {self.num_train_rules}")
        if self.test_rules is not None and len(self.test_rules) != self.num_test_rules:
            raise ConfigError("test_rules", list(self.test_rules), f"names {len(self.test_rules)} rules; num_test_rules is {self.num_test_rules}")
        if self.train_rules and self.test_rules and set(self.train_rules) & set(self.test_rules):
            raise ConfigError("test_rules", sorted(set(self.train_rules) & set(self.test_rules))[0], "is also a training rule")
        if self.num_train_rules + self.num_test_rules > len(known):
            raise ConfigError("num_test_rules", self.num_test_rules, f"with {self.num_train_rules} training rules "
                              f"needs {self.num_train_rules + self.num_test_rules} {self.rule_source} rules; the inventory "
                              f"holds {len(known)}")

    def symbols(self) -> str:
        """Every character an example can contain in this notation."""
        digits = "".join(str(d) for d in range(self.constants[0], min(self.constants[1], 9) + 1)) + "0123"
        letters = RULE_VARIABLES + self.variables
        if self.notation == "prefix":
            ops = "".join(PREFIX_SYMBOL[h] for h in (*self.operators, "+", "-", "*", "/", "^", "neg", *FUNCTIONS))
            return "".join(sorted(set(digits + letters + ops)))
        return "".join(sorted(set(digits + "0123456789" + letters + "+-*/^() " + "".join(FUNCTIONS))))

    def _checked_alphabet(self) -> str:
        needed = self.symbols()
        if self.alphabet is None:
            return needed
        if not isinstance(self.alphabet, str) or len(set(self.alphabet)) != len(self.alphabet):
            raise ConfigError("alphabet", self.alphabet, "must be a string of distinct characters")
        missing = sorted(set(needed) - set(self.alphabet))
        if missing:
            raise ConfigError("alphabet", self.alphabet, f"lacks {''.join(missing)!r}, used by {self.notation} notation")
        return self.alphabet
