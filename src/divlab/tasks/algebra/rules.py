"""The rule inventory of the algebra task: curated identities (each checked by the tests to hold, with sympy),
and a generator of random identities for instruction counts far past any hand-written list.

A rule's variables are the letters a-d of its left side; `positive` names those that must bind positive
sub-trees for the identity to hold over the reals (log, sqrt and real powers). Expressions use other letters.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from divlab.tasks.algebra.expr import Expr, letters, parse_infix
from divlab.tasks.algebra.match import positions, replace_at, substitute, match

RULE_VARIABLES = "abcd"


@dataclass(frozen=True)
class Rule:
    name: str
    family: str
    lhs: Expr
    rhs: Expr
    positive: frozenset[str] = frozenset()

    @property
    def variables(self) -> frozenset[str]:
        return frozenset(v for v in letters(self.lhs) if v in RULE_VARIABLES)

    @property
    def text(self) -> str:
        return f"{self.lhs} = {self.rhs}"


# (name, family, "lhs = rhs", variables that must be positive)
CURATED = [
    ("difference of squares", "factoring", "a^2 - b^2 = (a + b)*(a - b)", ""),
    ("square of a sum", "factoring", "(a + b)^2 = a^2 + 2*a*b + b^2", ""),
    ("square of a difference", "factoring", "(a - b)^2 = a^2 - 2*a*b + b^2", ""),
    ("difference of cubes", "factoring", "a^3 - b^3 = (a - b)*(a^2 + a*b + b^2)", ""),
    ("sum of cubes", "factoring", "a^3 + b^3 = (a + b)*(a^2 - a*b + b^2)", ""),
    ("cube of a sum", "factoring", "(a + b)^3 = a^3 + 3*a^2*b + 3*a*b^2 + b^3", ""),
    ("product of sum and difference", "factoring", "(a + b)*(a - b) = a^2 - b^2", ""),
    ("left distribution", "distributivity", "a*(b + c) = a*b + a*c", ""),
    ("left distribution over difference", "distributivity", "a*(b - c) = a*b - a*c", ""),
    ("right distribution", "distributivity", "(a + b)*c = a*c + b*c", ""),
    ("right distribution over difference", "distributivity", "(a - b)*c = a*c - b*c", ""),
    ("common factor", "distributivity", "a*b + a*c = a*(b + c)", ""),
    ("common factor of difference", "distributivity", "a*b - a*c = a*(b - c)", ""),
    ("division distribution", "distributivity", "(a + b)/c = a/c + b/c", ""),
    ("product of powers", "powers", "a^b*a^c = a^(b + c)", "a"),
    ("quotient of powers", "powers", "a^b/a^c = a^(b - c)", "a"),
    ("power of a power", "powers", "(a^b)^c = a^(b*c)", "a"),
    ("power of a product", "powers", "(a*b)^c = a^c*b^c", "ab"),
    ("power of a quotient", "powers", "(a/b)^c = a^c/b^c", "ab"),
    ("power of a sum of exponents", "powers", "a^(b + c) = a^b*a^c", "a"),
    ("square as product", "powers", "a^2 = a*a", ""),
    ("product as square", "powers", "a*a = a^2", ""),
    ("negative exponent", "powers", "a^(-b) = 1/a^b", "a"),
    ("root of a product", "powers", "sqrt(a*b) = sqrt(a)*sqrt(b)", "ab"),
    ("square of a root", "powers", "sqrt(a)^2 = a", "a"),
    ("root as power", "powers", "sqrt(a) = a^(1/2)", "a"),
    ("log of a product", "logarithms", "log(a*b) = log(a) + log(b)", "ab"),
    ("log of a quotient", "logarithms", "log(a/b) = log(a) - log(b)", "ab"),
    ("log of a power", "logarithms", "log(a^b) = b*log(a)", "a"),
    ("sum of logs", "logarithms", "log(a) + log(b) = log(a*b)", "ab"),
    ("difference of logs", "logarithms", "log(a) - log(b) = log(a/b)", "ab"),
    ("log of a root", "logarithms", "log(sqrt(a)) = log(a)/2", "a"),
    ("log of exp", "logarithms", "log(exp(a)) = a", ""),
    ("exp of log", "exponentials", "exp(log(a)) = a", "a"),
    ("exp of a sum", "exponentials", "exp(a + b) = exp(a)*exp(b)", ""),
    ("exp of a difference", "exponentials", "exp(a - b) = exp(a)/exp(b)", ""),
    ("product of exps", "exponentials", "exp(a)*exp(b) = exp(a + b)", ""),
    ("quotient of exps", "exponentials", "exp(a)/exp(b) = exp(a - b)", ""),
    ("exp of a product", "exponentials", "exp(a*b) = exp(a)^b", ""),
    ("exp of a negation", "exponentials", "exp(-a) = 1/exp(a)", ""),
    ("sine of a sum", "trigonometry", "sin(a + b) = sin(a)*cos(b) + cos(a)*sin(b)", ""),
    ("sine of a difference", "trigonometry", "sin(a - b) = sin(a)*cos(b) - cos(a)*sin(b)", ""),
    ("cosine of a sum", "trigonometry", "cos(a + b) = cos(a)*cos(b) - sin(a)*sin(b)", ""),
    ("cosine of a difference", "trigonometry", "cos(a - b) = cos(a)*cos(b) + sin(a)*sin(b)", ""),
    ("double-angle sine", "trigonometry", "sin(2*a) = 2*sin(a)*cos(a)", ""),
    ("double-angle cosine", "trigonometry", "cos(2*a) = cos(a)^2 - sin(a)^2", ""),
    ("Pythagorean identity", "trigonometry", "sin(a)^2 + cos(a)^2 = 1", ""),
    ("odd sine", "trigonometry", "sin(-a) = -sin(a)", ""),
    ("even cosine", "trigonometry", "cos(-a) = cos(a)", ""),
    ("double-angle sine, folded", "trigonometry", "2*sin(a)*cos(a) = sin(2*a)", ""),
    ("sum of fractions", "fractions", "a/b + c/b = (a + c)/b", ""),
    ("difference of fractions", "fractions", "a/b - c/b = (a - c)/b", ""),
    ("product of fractions", "fractions", "(a/b)*(c/d) = (a*c)/(b*d)", ""),
    ("quotient of fractions", "fractions", "(a/b)/(c/d) = (a*d)/(b*c)", ""),
    ("cross sum of fractions", "fractions", "a/b + c/d = (a*d + b*c)/(b*d)", ""),
    ("division by a fraction", "fractions", "a/(b/c) = (a*c)/b", ""),
    ("cancel a common factor", "fractions", "(a*b)/(a*c) = b/c", ""),
    ("commutative sum", "structure", "a + b = b + a", ""),
    ("commutative product", "structure", "a*b = b*a", ""),
    ("associative sum", "structure", "(a + b) + c = a + (b + c)", ""),
    ("associative product", "structure", "(a*b)*c = a*(b*c)", ""),
    ("subtract a sum", "structure", "a - (b + c) = a - b - c", ""),
    ("subtract a difference", "structure", "a - (b - c) = a - b + c", ""),
    ("negate a sum", "structure", "-(a + b) = -a - b", ""),
    ("negate a difference", "structure", "-(a - b) = b - a", ""),
    ("product of negations", "structure", "(-a)*(-b) = a*b", ""),
    ("self difference", "structure", "a - a = 0", ""),
    ("self quotient", "structure", "a/a = 1", ""),
]


def _rule(name: str, family: str, text: str, positive: str) -> Rule:
    lhs, _, rhs = text.partition("=")
    return Rule(name, family, parse_infix(lhs), parse_infix(rhs), frozenset(positive))


def parse_rule(text: str, field: str = "custom_rules") -> Rule:
    """A user's rule, "lhs = rhs" or "name: lhs = rhs"; its variables are the letters a-d, and every variable of
    the right side must occur on the left. Errors are ConfigErrors naming the rule. Custom rules are taken as
    identities for every binding: divlab cannot check a user's algebra, and does not bind them positively."""
    from divlab.errors import ConfigError
    from divlab.tasks.algebra.expr import ParseError

    if not isinstance(text, str) or text.count("=") != 1:
        raise ConfigError(field, text, "a rule is one 'lhs = rhs' (optionally 'name: lhs = rhs')")
    name, _, body = text.rpartition(":") if ":" in text else ("", "", text)
    lhs_text, _, rhs_text = body.partition("=")
    try:
        lhs, rhs = parse_infix(lhs_text), parse_infix(rhs_text)
    except ParseError as error:
        raise ConfigError(field, text, f"does not parse: {error}") from None
    outside = sorted((letters(lhs) | letters(rhs)) - set(RULE_VARIABLES))
    if outside:
        raise ConfigError(field, text, f"uses {', '.join(outside)}; a rule's variables are {', '.join(RULE_VARIABLES)}")
    free = sorted(letters(rhs) - letters(lhs))
    if free:
        raise ConfigError(field, text, f"its right side uses {', '.join(free)}, which its left side does not bind")
    if lhs.is_leaf:
        raise ConfigError(field, text, "its left side is a single symbol, which matches every sub-expression")
    return Rule((name or body).strip(), "custom", lhs, rhs)


@lru_cache(maxsize=None)
def curated_rules() -> tuple[Rule, ...]:
    return tuple(_rule(*entry) for entry in CURATED)


def rule_by_name(name: str) -> Rule:
    for rule in curated_rules():
        if rule.name == name:
            return rule
    raise KeyError(name)


# Identities that hold for every binding (no positivity needed) and keep trees small: what random rules are
# derived with, so that every random rule is an identity by construction.
def _transforms() -> tuple[Rule, ...]:
    keep = ("distributivity", "factoring", "structure", "trigonometry", "exponentials")
    return tuple(r for r in curated_rules() if r.family in keep and not r.positive and r.name not in (
        "self difference", "self quotient", "cube of a sum"))


PATTERN_OPERATORS = ("+", "-", "*", "/", "^", "neg", "exp", "sin", "cos")


def _random_pattern(rng: np.random.Generator, target_depth: int, names: str) -> Expr:
    if target_depth == 0:
        return Expr(str(rng.integers(2, 4)) if rng.random() < 0.15 else names[rng.integers(len(names))])
    head = PATTERN_OPERATORS[rng.integers(len(PATTERN_OPERATORS))]
    if head in ("neg", "exp", "sin", "cos"):
        return Expr(head, (_random_pattern(rng, target_depth - 1, names),))
    deep = rng.integers(2)
    sides = [_random_pattern(rng, target_depth - 1 if i == deep else int(rng.integers(target_depth)), names)
             for i in range(2)]
    if head == "^":  # small integer exponents keep every random identity real-valued
        sides[1] = Expr(str(rng.integers(2, 4)))
    return Expr(head, tuple(sides))


def random_rule(rng: np.random.Generator, depth_range: tuple[int, int], steps: int = 2) -> Rule | None:
    """A random identity L = R: L a random pattern tree over a, b, c; R derived from L by 1..STEPS rewrites
    with domain-free curated identities at random positions. None when no transform applies."""
    names = RULE_VARIABLES[: int(rng.integers(1, 4))]
    lhs = _random_pattern(rng, int(rng.integers(depth_range[0], depth_range[1] + 1)), names)
    if not letters(lhs):
        return None
    rhs, transforms = lhs, _transforms()
    applied = []
    for _ in range(int(rng.integers(1, steps + 1))):
        candidates = [(path, rule, bindings) for path, sub in positions(rhs) for rule in transforms
                      if (bindings := match(rule.lhs, sub, rule.variables)) is not None]
        if not candidates:
            break
        path, rule, bindings = candidates[rng.integers(len(candidates))]
        rhs = replace_at(rhs, path, substitute(rule.rhs, bindings))
        applied.append(rule.name)
    if rhs == lhs or not applied:
        return None
    return Rule("random: " + " then ".join(applied), "random", lhs, rhs)
