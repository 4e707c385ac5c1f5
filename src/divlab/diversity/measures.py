"""Diversity measures by name: a measure maps a list of instruction texts to a number. `divlab diversity`
reports the lexical ones for every set and any others asked for with `--measure NAME` (a `divlab.measures`
entry point, or "module:function" for one's own)."""

from __future__ import annotations

from divlab.diversity.metrics import distinct_n
from divlab.registry import Registry

MEASURES = Registry("diversity measure", "divlab.measures", "measures", check=callable, builtin={
    "distinct_1": "divlab.diversity.measures:distinct_1",
    "distinct_2": "divlab.diversity.measures:distinct_2",
    "distinct_3": "divlab.diversity.measures:distinct_3",
    "compression_ratio": "divlab.diversity.metrics:compression_ratio",
})
LEXICAL = ("distinct_1", "distinct_2", "distinct_3", "compression_ratio")  # reported for every set


def distinct_1(texts: list[str]) -> float:
    return distinct_n(texts, 1)


def distinct_2(texts: list[str]) -> float:
    return distinct_n(texts, 2)


def distinct_3(texts: list[str]) -> float:
    return distinct_n(texts, 3)


def measure(name: str, texts: list[str]) -> float:
    return float(MEASURES.get(name)(texts))
