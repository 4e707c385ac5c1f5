"""Structural matching of a rule's side against an expression, and rewriting at a position.

Semantics (docs/algebra.md):
- a rule variable binds any sub-tree; a variable used twice must bind equal sub-trees (a - a matches
  (x+1) - (x+1), not (x+1) - (1+x));
- every other symbol must match exactly: no commutativity, associativity or arithmetic ("a*b" does not match
  "x + y", "2*a" does not match "4");
- the rewritten occurrence is the first match in pre-order (the outermost, then leftmost), once.
Hand-written rather than sympy's `Expr.match`/`replace`, which match mathematically (they bind a = sqrt(y) to
make a^2 match y); sympy is the tests' oracle instead.
"""

from __future__ import annotations

from typing import Iterator

from divlab.tasks.algebra.expr import Expr

Path = tuple[int, ...]  # argument indices from the root


def match(pattern: Expr, expr: Expr, variables: frozenset[str], bindings: dict | None = None) -> dict | None:
    """The bindings that make PATTERN equal to EXPR, or None."""
    bindings = {} if bindings is None else bindings
    if pattern.is_leaf and pattern.head in variables:
        bound = bindings.get(pattern.head)
        if bound is None:
            bindings[pattern.head] = expr
            return bindings
        return bindings if bound == expr else None
    if pattern.head != expr.head or len(pattern.args) != len(expr.args):
        return None
    for sub_pattern, sub_expr in zip(pattern.args, expr.args):
        if match(sub_pattern, sub_expr, variables, bindings) is None:
            return None
    return bindings


def positions(expr: Expr, path: Path = ()) -> Iterator[tuple[Path, Expr]]:
    """Every sub-tree with its path, in pre-order."""
    yield path, expr
    for index, arg in enumerate(expr.args):
        yield from positions(arg, path + (index,))


def first_match(pattern: Expr, expr: Expr, variables: frozenset[str]) -> tuple[Path, dict] | None:
    for path, sub in positions(expr):
        bindings = match(pattern, sub, variables)
        if bindings is not None:
            return path, bindings
    return None


def count_matches(pattern: Expr, expr: Expr, variables: frozenset[str]) -> int:
    return sum(match(pattern, sub, variables) is not None for _, sub in positions(expr))


def substitute(template: Expr, bindings: dict) -> Expr:
    if template.is_leaf:
        return bindings.get(template.head, template)
    return Expr(template.head, tuple(substitute(a, bindings) for a in template.args))


def at(expr: Expr, path: Path) -> Expr:
    for index in path:
        expr = expr.args[index]
    return expr


def replace_at(expr: Expr, path: Path, new: Expr) -> Expr:
    if not path:
        return new
    head, *rest = path
    args = list(expr.args)
    args[head] = replace_at(args[head], tuple(rest), new)
    return Expr(expr.head, tuple(args))


def rewrite_first(lhs: Expr, rhs: Expr, expr: Expr, variables: frozenset[str]) -> tuple[Expr, Path | None]:
    """EXPR with its first match of LHS replaced by RHS (and the path rewritten), or EXPR unchanged and None."""
    found = first_match(lhs, expr, variables)
    if found is None:
        return expr, None
    path, bindings = found
    return replace_at(expr, path, substitute(rhs, bindings)), path
