"""Typed, validated configuration of the single-rule rewrite task (paper §1.2, brief "Decisions")."""

from __future__ import annotations

import dataclasses
import math
import string
from dataclasses import dataclass
from typing import Any, Mapping

from divlab.errors import ConfigError
from divlab.typed_config import values_with_exclusive_groups

# Characters that separate fields when examples are rendered as text (prompts for pretrained LLMs, the
# special-token spellings `<sep>`, `x -> y`), and control characters (the tokenizer uses some internally),
# so they can never be letters of the task's alphabet.
RESERVED_CHARACTERS = frozenset(string.whitespace + "<>|-" + "".join(map(chr, range(32))) + "\x7f")
FAMILIES = ("free", "repeat", "periodic", "mirror")
ALLOCATIONS = ("uniform", "power")
FORMATS = ("jsonl", "parquet")

IntRange = tuple[int, int]


@dataclass(frozen=True)
class FamilySpec:
    """A rule family: `free` (unconstrained strings) or a constrained family with k drawn from a range."""

    name: str = "free"
    k: IntRange = (1, 1)
    weight: float = 1.0

    def to_dict(self) -> dict:
        return {"name": self.name, "k": list(self.k), "weight": self.weight}


def _as_range(field: str, value: Any, minimum: int) -> IntRange:
    if isinstance(value, bool):
        raise ConfigError(field, value, "expected an integer or [min, max]")
    if isinstance(value, int):
        value = (value, value)
    if not (isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        raise ConfigError(field, value, "expected an integer or [min, max] of integers")
    low, high = value
    if low > high:
        raise ConfigError(field, value, "min is larger than max")
    if low < minimum:
        raise ConfigError(field, value, f"must be >= {minimum}")
    return (low, high)


def _as_mixture(field: str, value: Any) -> tuple[tuple[int, float], ...]:
    """Occurrence counts: an int (fixed), a list (uniform mixture) or a {count: weight} table."""
    if isinstance(value, bool):
        raise ConfigError(field, value, "expected an integer, a list of integers or a {count: weight} table")
    if isinstance(value, int):
        pairs = [(value, 1.0)]
    elif isinstance(value, (list, tuple)) and value and all(isinstance(v, (list, tuple)) for v in value):
        pairs = [tuple(v) for v in value]
    elif isinstance(value, (list, tuple)):
        pairs = [(v, 1.0) for v in value]
    elif isinstance(value, Mapping):
        pairs = list(value.items())
    else:
        raise ConfigError(field, value, "expected an integer, a list of integers or a {count: weight} table")
    if not pairs:
        raise ConfigError(field, value, "must not be empty")
    result = {}
    for count, weight in pairs:
        try:
            count_int = int(count)
        except (TypeError, ValueError):
            raise ConfigError(field, value, f"occurrence count {count!r} is not an integer") from None
        if count_int < 1:
            raise ConfigError(field, value, f"occurrence count {count_int} must be >= 1")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight > 0:
            raise ConfigError(field, value, f"weight {weight!r} of count {count_int} must be a positive number")
        if count_int in result:
            raise ConfigError(field, value, f"occurrence count {count_int} is listed twice")
        result[count_int] = float(weight)
    return tuple(sorted(result.items()))


def _as_families(field: str, value: Any) -> tuple[FamilySpec, ...]:
    if isinstance(value, str):
        value = [{"name": value}]
    if isinstance(value, Mapping):
        value = [value]
    if isinstance(value, FamilySpec):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise ConfigError(field, value, "expected a family name or a list of {name, k, weight} tables")
    specs = []
    for item in value:
        if isinstance(item, FamilySpec):
            item = item.to_dict()
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, Mapping):
            raise ConfigError(field, item, "expected a {name, k, weight} table")
        unknown = set(item) - {"name", "k", "weight"}
        if unknown:
            raise ConfigError(f"{field}.{sorted(unknown)[0]}", item[sorted(unknown)[0]], "unknown family field; known: name, k, weight")
        name = item.get("name", "free")
        if name not in FAMILIES:
            raise ConfigError(f"{field}.name", name, f"unknown rule family; known: {', '.join(FAMILIES)}")
        k = _as_range(f"{field}.k", item.get("k", 1), minimum=1)
        if name == "free" and k != (1, 1):
            raise ConfigError(f"{field}.k", list(k), "the free family has no k (it is k = 1)")
        weight = item.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight > 0:
            raise ConfigError(f"{field}.weight", weight, "must be a positive number")
        specs.append(FamilySpec(name, k, float(weight)))
    return tuple(specs)


def feasible_base_lengths(k: int, length: IntRange) -> tuple[int, int] | None:
    """Base lengths b with b * k inside `length`, as a range; None when there are none (b = 0 only for an
    allowed empty replacement)."""
    low = math.ceil(length[0] / k)
    high = length[1] // k
    return (low, high) if low <= high else None


def strings_in_family(family: FamilySpec, length: IntRange, alphabet_size: int) -> int:
    """An upper bound on the number of distinct strings a family can produce (exact for `free`)."""
    total = 0
    for k in range(family.k[0], family.k[1] + 1):
        bases = feasible_base_lengths(k, length)
        if bases:
            total += sum(alphabet_size**b for b in range(bases[0], bases[1] + 1))
    return total


@dataclass(frozen=True)
class RewriteConfig:
    """Every knob of the paper's string-rewrite data; the defaults are the E1 paper setting."""

    alphabet: str = string.ascii_lowercase
    x_len: IntRange = (1, 20)
    y_len: IntRange = (1, 20)
    z_len: IntRange = (50, 50)
    noop_fraction: float = 0.0
    occurrences: Any = ((1, 1.0),)
    families: Any = (FamilySpec(),)
    num_train_rules: int = 1000
    # Exactly one of budget (total training examples) and examples_per_rule is set.
    budget: int | None = 1_000_000
    examples_per_rule: int | None = None
    allocation: str = "uniform"
    power_alpha: float | None = None
    num_test_rules: int = 1000
    num_test_examples: int = 100_000
    num_seen_test_examples: int = 10_000
    # Test-time overrides (None: same as training), e.g. E4 tests constrained-family training on free rules.
    test_noop_fraction: float | None = None
    test_occurrences: Any = None
    test_families: Any = None
    disjoint_x: bool = True
    allow_identity: bool = False
    allow_empty_y: bool = False
    format: str = "jsonl"
    seed: int = 0

    EXCLUSIVE_GROUPS = (("budget", "examples_per_rule"),)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "RewriteConfig":
        return cls(**values_with_exclusive_groups(cls, values))

    def to_dict(self) -> dict:
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in ("families", "test_families") and value is not None:
                value = [spec.to_dict() for spec in value]
            elif f.name in ("occurrences", "test_occurrences") and value is not None:
                value = [[count, weight] for count, weight in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    def replace(self, **changes: Any) -> "RewriteConfig":
        values = {**self.to_dict(), **changes}
        if "examples_per_rule" in changes and "budget" not in changes:
            values["budget"] = None
        if "budget" in changes and "examples_per_rule" not in changes:
            values["examples_per_rule"] = None
        return RewriteConfig.from_dict(values)

    # -- derived values ------------------------------------------------------------------------------
    @property
    def train_size(self) -> int:
        return self.budget if self.budget is not None else self.num_train_rules * self.examples_per_rule

    @property
    def effective_test_families(self) -> tuple[FamilySpec, ...]:
        return self.test_families if self.test_families is not None else self.families

    @property
    def effective_test_occurrences(self) -> tuple[tuple[int, float], ...]:
        return self.test_occurrences if self.test_occurrences is not None else self.occurrences

    @property
    def effective_test_noop_fraction(self) -> float:
        return self.test_noop_fraction if self.test_noop_fraction is not None else self.noop_fraction

    # -- validation ----------------------------------------------------------------------------------
    def __post_init__(self) -> None:
        """Validate and normalize every field (ranges, mixtures, family specs), in dependency order."""
        self._check_alphabet()
        self._normalize_lengths()
        self._normalize_noop_fractions()
        self._normalize_occurrences()
        self._normalize_families()
        self._check_counts()
        self._check_allocation()
        self._check_switches()
        self._check_rule_space()

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)  # the dataclass is frozen; normalization happens once, here

    def _optional_pair(self, name: str):
        """(training field, its test override) names to validate; an unset test override is skipped."""
        return [n for n in (name, f"test_{name}") if not (n.startswith("test_") and getattr(self, n) is None)]

    def _check_alphabet(self) -> None:
        if not isinstance(self.alphabet, str) or len(self.alphabet) < 2:
            raise ConfigError("alphabet", self.alphabet, "needs at least 2 distinct characters")
        if len(set(self.alphabet)) != len(self.alphabet):
            raise ConfigError("alphabet", self.alphabet, "contains a repeated character")
        reserved = sorted(set(self.alphabet) & RESERVED_CHARACTERS)
        if reserved:
            raise ConfigError("alphabet", self.alphabet, f"contains separator character(s) {reserved!r}")

    def _normalize_lengths(self) -> None:
        self._set("x_len", _as_range("x_len", self.x_len, minimum=1))
        self._set("y_len", _as_range("y_len", self.y_len, minimum=0 if self.allow_empty_y else 1))
        self._set("z_len", _as_range("z_len", self.z_len, minimum=1))
        if self.x_len[1] > self.z_len[0]:
            raise ConfigError("x_len", list(self.x_len), f"x can be longer than z (z_len={list(self.z_len)})")

    def _normalize_noop_fractions(self) -> None:
        for name in self._optional_pair("noop_fraction"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ConfigError(name, value, "must be a number in [0, 1]")
            self._set(name, float(value))

    def _normalize_occurrences(self) -> None:
        for name in self._optional_pair("occurrences"):
            value = getattr(self, name)
            mixture = _as_mixture(name, value)
            most = max(count for count, _ in mixture)
            if most * self.x_len[1] > self.z_len[0]:
                raise ConfigError(
                    name, value,
                    f"{most} occurrences of an x of length up to {self.x_len[1]} cannot fit in z of length {self.z_len[0]}",
                )
            self._set(name, mixture)

    def _normalize_families(self) -> None:
        for name in self._optional_pair("families"):
            specs = _as_families(name, getattr(self, name))
            for spec in specs:
                for k in range(spec.k[0], spec.k[1] + 1):
                    for side, length in (("x_len", self.x_len), ("y_len", self.y_len)):
                        if feasible_base_lengths(k, length) is None:
                            raise ConfigError(
                                f"{name}.k", list(spec.k),
                                f"a {spec.name}(k={k}) string cannot have a length in {side}={list(length)}",
                            )
            self._set(name, specs)

    def _check_counts(self) -> None:
        for name in ("num_train_rules", "num_test_rules", "num_test_examples", "num_seen_test_examples", "seed"):
            value = getattr(self, name)
            minimum = 1 if name == "num_train_rules" else 0
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ConfigError(name, value, f"must be an integer >= {minimum}")
        if self.num_test_examples > 0 and self.num_test_rules < 1:
            raise ConfigError("num_test_rules", self.num_test_rules, "test examples need at least one test rule")
        if (self.budget is None) == (self.examples_per_rule is None):
            raise ConfigError("budget", self.budget, f"set exactly one of budget and examples_per_rule (examples_per_rule={self.examples_per_rule!r})")
        for name in ("budget", "examples_per_rule"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError(name, value, "must be an integer >= 1")

    def _check_allocation(self) -> None:
        if self.allocation not in ALLOCATIONS:
            raise ConfigError("allocation", self.allocation, f"unknown allocation; known: {', '.join(ALLOCATIONS)}")
        if self.allocation == "power":
            if isinstance(self.power_alpha, bool) or not isinstance(self.power_alpha, (int, float)) or not self.power_alpha > 0:
                raise ConfigError("power_alpha", self.power_alpha, "power allocation needs a shape alpha > 0")
            self._set("power_alpha", float(self.power_alpha))
        elif self.power_alpha is not None:
            raise ConfigError("power_alpha", self.power_alpha, "only used with allocation='power'")
        if self.allocation == "uniform" and self.train_size < self.num_train_rules:
            raise ConfigError("budget", self.budget, f"fewer examples than rules (num_train_rules={self.num_train_rules}) under uniform allocation")

    def _check_switches(self) -> None:
        if self.format not in FORMATS:
            raise ConfigError("format", self.format, f"unknown format; known: {', '.join(FORMATS)}")
        for name in ("disjoint_x", "allow_identity", "allow_empty_y"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(name, getattr(self, name), "must be true or false")

    def rule_space(self, families: tuple[FamilySpec, ...]) -> tuple[int, int]:
        """Upper bounds on the distinct x strings and distinct (x, y) rules the families can produce."""
        size = len(self.alphabet)
        xs = ys = 0
        for spec in families:
            xs += strings_in_family(spec, self.x_len, size)
            ys_spec = strings_in_family(spec, self.y_len, size)
            ys += ys_spec
        pairs = xs * ys if self.allow_identity else max(0, xs * ys - min(xs, ys))
        return xs, pairs

    def _check_rule_space(self) -> None:
        train_x, train_pairs = self.rule_space(self.families)
        test_x, test_pairs = self.rule_space(self.effective_test_families)
        if self.num_test_rules > test_pairs:
            raise ConfigError("num_test_rules", self.num_test_rules, f"the test rule space holds at most {test_pairs} distinct rules")
        # Test rules are drawn first; the training rules must avoid them (as pairs, and as x strings).
        available = train_pairs - (0 if self.test_families is not None else self.num_test_rules)
        if self.num_train_rules > available:
            raise ConfigError(
                "num_train_rules", self.num_train_rules,
                f"more distinct rules than the rule space holds (at most {available} after {self.num_test_rules} test rules)",
            )
        if self.disjoint_x and self.test_families is None and train_x < 2:
            raise ConfigError("disjoint_x", True, "train and test cannot use disjoint x strings with a single possible x")
