"""The usual text notation for Markov algorithms.

One rule per line: ``pattern -> replacement``; ``pattern -> .replacement`` marks a terminating rule.
As in Markov's notation (and Rosetta Code's rule sets), the arrow is whitespace-delimited: the rule splits
at the first ``->`` with whitespace (or the line's start or end) on both sides, and an arrow touching other
text is literal (``Bgage -> ->.*`` rewrites ``Bgage`` to ``->.*``). Lines whose first non-blank character
is ``#`` are comments; blank lines are ignored. Both sides are literal text with surrounding blanks
trimmed, and inner spaces kept (``I bought -> you sold``). A side that needs leading or trailing blanks, a
whitespace-delimited arrow, a leading ``.`` or ``"``, or that is empty can be written as a double-quoted
string with JSON escapes (``" a" -> .""``). ``→`` is accepted for ``->``.
"""

from __future__ import annotations

import json
from pathlib import Path

from divlab.markov.engine import Rule
from divlab.errors import DataError

ARROWS = ("->", "\u2192")


class RulesSyntaxError(DataError):
    def __init__(self, line_number: int, line: str, problem: str, source: str = "<rules>"):
        self.line_number = line_number
        self.line = line
        self.problem = problem
        super().__init__(f"{source}, line {line_number}: {problem}: {line!r}")


def _read_quoted(text: str) -> tuple[str, str]:
    """Decode a leading JSON string literal; return (value, rest of the text)."""
    value, end = json.JSONDecoder().raw_decode(text)
    if not isinstance(value, str):
        raise ValueError("not a string")
    return value, text[end:]


def _delimited_arrow(text: str) -> tuple[int, str] | None:
    """(position, arrow) of the first arrow with whitespace, or the text's start or end, on both sides."""
    found = []
    for arrow in ARROWS:
        start = text.find(arrow)
        while start >= 0:
            end = start + len(arrow)
            if (start == 0 or text[start - 1].isspace()) and (end == len(text) or text[end].isspace()):
                found.append((start, arrow))
                break
            start = text.find(arrow, start + 1)
    return min(found, default=None)


def _parse_line(line: str) -> Rule:
    stripped = line.strip()
    if stripped.startswith('"'):
        try:
            pattern, rest = _read_quoted(stripped)
        except ValueError:
            raise ValueError("unterminated or invalid quoted pattern") from None
        rest = rest.lstrip()
        arrow = next((a for a in ARROWS if rest.startswith(a)), None)
        if arrow is None:
            raise ValueError("expected '->' after the quoted pattern")
        right = rest[len(arrow):]
    else:
        cut = _delimited_arrow(stripped)
        if cut is None:
            raise ValueError("expected 'pattern -> replacement' (the arrow with whitespace on both sides)")
        position, arrow = cut
        pattern = stripped[:position].rstrip()
        right = stripped[position + len(arrow):]

    right = right.strip()
    terminating = right.startswith(".")
    if terminating:
        right = right[1:].lstrip()
    if right.startswith('"'):
        try:
            replacement, rest = _read_quoted(right)
        except ValueError:
            raise ValueError("unterminated or invalid quoted replacement") from None
        if rest.strip():
            raise ValueError(f"unexpected text after the quoted replacement: {rest.strip()!r}")
    else:
        replacement = right
    return Rule(pattern, replacement, terminating)


def parse_rules(text: str, source: str = "<rules>") -> list[Rule]:
    rules = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            rules.append(_parse_line(line))
        except ValueError as error:
            raise RulesSyntaxError(line_number, line, str(error), source) from None
    return rules


def parse_rules_file(path: str | Path) -> list[Rule]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"rules file not found: {path}") from None
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    return parse_rules(text, source=str(path))


def _side(text: str) -> str:
    plain = text == text.strip() and text and _delimited_arrow(text) is None and text[0] not in '."#'
    return text if plain else json.dumps(text, ensure_ascii=False)


def format_rule(rule: Rule) -> str:
    """Render a rule so that `parse_rules` reads it back unchanged."""
    return f"{_side(rule.pattern)} -> {'.' if rule.terminating else ''}{_side(rule.replacement)}"
