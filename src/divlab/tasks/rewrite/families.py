"""Rule families (brief, decision 9): how a base string becomes a constrained pattern, k pieces long."""

from __future__ import annotations

from typing import Callable


def repeat(base: str, k: int) -> str:
    """Each character repeated k times: repeat('abc', 3) == 'aaabbbccc'."""
    return "".join(ch * k for ch in base)


def periodic(base: str, k: int) -> str:
    """The base string repeated k times: periodic('abc', 2) == 'abcabc'."""
    return base * k


def mirror(base: str, k: int) -> str:
    """The base and its reverse alternated, k pieces in all: mirror('abc', 3) == 'abccbaabc'."""
    reverse = base[::-1]
    return "".join(base if i % 2 == 0 else reverse for i in range(k))


def free(base: str, k: int) -> str:
    return base


BUILDERS: dict[str, Callable[[str, int], str]] = {
    "free": free,
    "repeat": repeat,
    "periodic": periodic,
    "mirror": mirror,
}
