"""Code out of a chat model's answer: fenced blocks first, else the answer minus leading and trailing prose.

Kept deliberately simple and predictable; the raw answer is stored beside what was extracted, so a
user can always see (and re-extract) what the model really said.
"""

from __future__ import annotations

import ast
import re

_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)
_CODE_START = re.compile(r"^(def |class |import |from |async def |@|if __name__)")
# Dropping trailing prose parses the code's prefixes from the longest down, at most this many characters in
# all (~0.5 s): a 9 KB answer whose every prefix fails ("x = (" then 3,000 lines "1,") took 12 s unbounded.
# Honest answers need a few tries; an answer of 5 KB still gets 100.
PARSE_BUDGET = 512 * 1024


def extract_code(answer: str, entry_point: str | None = None) -> str:
    """The Python code in `answer`.

    - Fenced blocks: python/py/unlabelled ones; the one defining `entry_point` if any does, else the
      longest. An unclosed final fence counts up to the end.
    - No fences: from the first line that starts code (def/class/import/from/@) to the last line that
      keeps the text parseable, dropping trailing prose; the search parses at most PARSE_BUDGET
      characters, then keeps everything from the first line of code.
    """
    blocks = [(lang.lower(), body) for lang, body in _FENCE.findall(answer)]
    blocks = [body for lang, body in blocks if lang in ("", "python", "py", "python3")]
    if blocks:
        if entry_point:
            defining = [b for b in blocks if re.search(rf"^\s*(async\s+)?def\s+{re.escape(entry_point)}\s*\(", b, re.M)]
            if defining:
                blocks = defining
        return max(blocks, key=len).strip("\n") + "\n"
    lines = answer.splitlines()
    start = next((i for i, line in enumerate(lines) if _CODE_START.match(line)), None)
    if start is None:
        return answer
    budget = PARSE_BUDGET  # characters parsed in all: an answer is untrusted text, parsing each prefix is quadratic
    for end in range(len(lines), start, -1):
        candidate = "\n".join(lines[start:end])
        budget -= len(candidate)
        if budget < 0:
            break  # as when no prefix parses: the code from its first line, to fail where it is run
        try:
            ast.parse(candidate)
            return candidate.rstrip() + "\n"
        except (SyntaxError, ValueError, RecursionError, MemoryError):  # ValueError: a NUL byte
            continue
    return "\n".join(lines[start:]) + "\n"


def add_prompt_imports(code: str, prompt: str) -> str:
    """Prepend the prompt's own import lines that `code` lacks. Chat answers often restate the function
    without the prompt's `from typing import List`, which would fail on a NameError that says nothing about
    the model's code; only whole import lines of the benchmark's prompt are added, nothing else."""
    present = {line.strip() for line in code.splitlines()}
    missing = [line.strip() for line in prompt.splitlines()
               if re.match(r"^(import |from \S+ import )", line) and line.strip() not in present]
    return "\n".join(missing) + "\n" + code if missing else code


def code_from_chat_answer(answer: str, entry_point: str | None, prompt: str) -> str:
    """What runs for a chat answer: its code (`extract_code`) with the prompt's missing imports."""
    return add_prompt_imports(extract_code(answer, entry_point), prompt)
