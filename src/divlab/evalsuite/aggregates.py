"""The paper's four summary numbers of the generalist suite (Table 3), and its relative gains.

The paper does not say how its aggregates are formed, and its own Table 3 shows they are not one weighted
mean: for 60K = 40K UI + 20K OO, Overall (45.64) lies below both the IF average (46.69) and Overall w/o IF
(49.75), which no mean of the two can give (tests/evalsuite/test_aggregates.py checks this from the table).
divlab's definitions, stated in scores.json and docs/evalsuite.md:
- each benchmark contributes one score in percent; IFEval's is the IF average of its four accuracies;
- Overall: the mean over the suite's benchmarks;
- IF: the IF average;
- Overall w/o IF: the mean over every benchmark but IFEval;
- Overall w/o Math: the mean over every benchmark outside the math group (GSM8K, MATH, TheoremQA).
An aggregate is computed only from benchmarks that were scored; `missing` lists the suite's others, so a
partial suite never passes for a whole one.
"""

from __future__ import annotations

IF_BENCHMARK = "ifeval"
MATH_GROUP = "math"
DEFINITIONS = {
    "overall": "mean of every benchmark's score (IFEval: its IF average)",
    "if": "IFEval's IF average: mean of prompt/instruction-level strict/loose accuracy",
    "overall_without_if": "mean of every benchmark's score but IFEval's",
    "overall_without_math": "mean of every benchmark's score outside the math group (GSM8K, MATH, TheoremQA)",
}


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def paper_aggregates(scores: dict[str, float | None], groups: dict[str, str], suite: list[str]) -> dict:
    """The four aggregates from per-benchmark scores (percent); `suite`: the benchmarks that should be there."""
    scored = {name: value for name, value in scores.items() if value is not None}
    missing = [name for name in suite if name not in scored]
    return {
        "overall": _mean(list(scored.values())),
        "if": scored.get(IF_BENCHMARK),
        "overall_without_if": _mean([v for n, v in scored.items() if n != IF_BENCHMARK]),
        "overall_without_math": _mean([v for n, v in scored.items() if groups.get(n) != MATH_GROUP]),
        "benchmarks": sorted(scored),
        "missing": missing,
        "complete": not missing,
        "definitions": DEFINITIONS,
    }


def relative_gain(value: float, reference: float) -> float:
    """Relative change in percent, as the paper's Rel+20K and RelDiv columns."""
    return 100.0 * (value - reference) / reference
