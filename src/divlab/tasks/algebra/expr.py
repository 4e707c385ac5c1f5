"""Expression trees for the algebra task (paper E7), with a parser and two printers.

A tree is an `Expr(head, args)`: a leaf (a variable letter or a non-negative integer) has no args; an operator
(+ - * / ^), a unary minus ("neg") or a function (log exp sin cos sqrt) has one or two. Written by hand
rather than taken from sympy because the task is *structural*: sympy reorders and evaluates on construction
(a - b becomes Add(a, Mul(-1, b))), so the tree a model reads would not be the tree a rule matches.

Two notations, both lossless (parse(print(t)) == t, tested):
- infix, canonical: minimal brackets for left-associative + - * / and right-associative ^; a unary minus
  under a binary operator is bracketed: "a^2 - b^2 = (a + b)*(a - b)";
- prefix, one character per symbol, for from-scratch character models: "-^a2^b2".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BINARY = {"+": 1, "-": 1, "*": 2, "/": 2, "^": 4}  # operator -> precedence
NEG_PRECEDENCE = 3
FUNCTIONS = ("log", "exp", "sin", "cos", "sqrt")
UNARY = ("neg", *FUNCTIONS)
# Prefix notation: one character per symbol, none of them a variable letter or a digit.
PREFIX_SYMBOL = {"+": "+", "-": "-", "*": "*", "/": "/", "^": "^", "neg": "~", "log": "L", "exp": "E", "sin": "S",
                 "cos": "C", "sqrt": "R"}
PREFIX_HEAD = {symbol: head for head, symbol in PREFIX_SYMBOL.items()}


class ParseError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Expr:
    head: str
    args: tuple["Expr", ...] = ()

    @property
    def is_leaf(self) -> bool:
        return not self.args

    def __str__(self) -> str:
        return to_infix(self)


def leaf(name: str | int) -> Expr:
    return Expr(str(name))


def depth(expr: Expr) -> int:
    """A leaf has depth 0; an operator one more than its deepest argument."""
    return 0 if expr.is_leaf else 1 + max(depth(a) for a in expr.args)


def size(expr: Expr) -> int:
    return 1 + sum(size(a) for a in expr.args)


def leaves(expr: Expr) -> set[str]:
    return {expr.head} if expr.is_leaf else set().union(*(leaves(a) for a in expr.args))


def letters(expr: Expr) -> set[str]:
    """The variable letters of a tree (its non-numeric leaves)."""
    return {name for name in leaves(expr) if not name.isdigit()}


# -- printing -------------------------------------------------------------------------------------------
def _precedence(expr: Expr) -> int:
    if expr.is_leaf or expr.head in FUNCTIONS:
        return 9
    if expr.head == "neg":
        return NEG_PRECEDENCE
    return BINARY[expr.head]


def to_infix(expr: Expr) -> str:
    if expr.is_leaf:
        return expr.head
    if expr.head in FUNCTIONS:
        return f"{expr.head}({to_infix(expr.args[0])})"
    if expr.head == "neg":
        inner = expr.args[0]
        text = to_infix(inner)
        return f"-({text})" if _precedence(inner) < BINARY["^"] else f"-{text}"
    left, right = expr.args
    own = BINARY[expr.head]

    def wrap(child: Expr, on_right: bool) -> str:
        text = to_infix(child)
        if child.head == "neg" and not child.is_leaf:
            return f"({text})"
        bracket = _precedence(child) < own or (_precedence(child) == own and (on_right != (expr.head == "^")))
        return f"({text})" if bracket else text

    spaced = expr.head in "+-"
    operator = f" {expr.head} " if spaced else expr.head
    return wrap(left, False) + operator + wrap(right, True)


def to_prefix(expr: Expr) -> str:
    if expr.is_leaf:
        if len(expr.head) != 1:
            raise ValueError(f"leaf {expr.head!r}: prefix notation needs one-character leaves (single digits)")
        return expr.head
    return PREFIX_SYMBOL[expr.head] + "".join(to_prefix(a) for a in expr.args)


# -- parsing --------------------------------------------------------------------------------------------
TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z]+)|(.))")


def _tokens(text: str) -> list[str]:
    out = []
    for number, word, other in TOKEN.findall(text):
        if number or word:
            out.append(number or word)
        elif other.strip():
            out.append(other)
    return out


def parse_infix(text: str) -> Expr:
    """Parse canonical (or loosely bracketed) infix; every multiplication is written with '*'."""
    tokens = _tokens(text)
    position = 0

    def peek():
        return tokens[position] if position < len(tokens) else None

    def take(expected=None):
        nonlocal position
        token = peek()
        if token is None or (expected and token != expected):
            raise ParseError(f"{text!r}: expected {expected or 'more'} at token {position + 1}, found {token!r}")
        position += 1
        return token

    def expression(min_precedence: int) -> Expr:
        left = unary()
        while (op := peek()) in BINARY and BINARY[op] >= min_precedence:
            take()
            right = expression(BINARY[op] + (0 if op == "^" else 1))
            left = Expr(op, (left, right))
        return left

    def unary() -> Expr:
        if peek() == "-":
            take()
            return Expr("neg", (expression(BINARY["^"]) if peek() != "(" else power_of(atom()),))
        return power_of(atom())

    def power_of(base: Expr) -> Expr:
        if peek() == "^":
            take()
            return Expr("^", (base, unary()))
        return base

    def atom() -> Expr:
        token = take()
        if token == "(":
            inner = expression(0)
            take(")")
            return inner
        if token in FUNCTIONS:
            take("(")
            inner = expression(0)
            take(")")
            return Expr(token, (inner,))
        if token.isdigit() or (token.isalpha() and len(token) == 1):
            return Expr(token)
        raise ParseError(f"{text!r}: unexpected {token!r} at token {position}")

    tree = expression(0)
    if peek() is not None:
        raise ParseError(f"{text!r}: unexpected {peek()!r} at token {position + 1}")
    return tree


def parse_prefix(text: str) -> Expr:
    position = 0

    def node() -> Expr:
        nonlocal position
        if position >= len(text):
            raise ParseError(f"{text!r}: ends early")
        symbol = text[position]
        position += 1
        head = PREFIX_HEAD.get(symbol)
        if head is None:
            if not (symbol.isalnum()):
                raise ParseError(f"{text!r}: unknown symbol {symbol!r}")
            return Expr(symbol)
        arity = 2 if head in BINARY else 1
        return Expr(head, tuple(node() for _ in range(arity)))

    tree = node()
    if position != len(text):
        raise ParseError(f"{text!r}: trailing symbols after position {position}")
    return tree


PRINTERS = {"infix": to_infix, "prefix": to_prefix}
PARSERS = {"infix": parse_infix, "prefix": parse_prefix}
