"""scores.json as a short table for the terminal."""

from __future__ import annotations


def _pct(value) -> str:
    return "   -  " if value is None else f"{value:6.2f}"


def format_scores(scores: dict) -> str:
    lines = [f"{scores['model']} on suite {scores['suite']}"
             + (" (first examples only: a partial measurement)" if scores.get("partial_data") else "")]
    for name, result in scores["benchmarks"].items():
        lines.append(f"  {name:<10} {_pct(result.get('score'))}  {result.get('examples', '?')} examples, "
                     f"{result.get('score_name', '')}")
    aggregates = scores["aggregates"]
    for key, title in (("overall", "Overall"), ("if", "IF"), ("overall_without_if", "Overall w/o IF"),
                       ("overall_without_math", "Overall w/o Math")):
        lines.append(f"  {title:<17} {_pct(aggregates.get(key))}")
    if aggregates["missing"]:
        lines.append(f"  aggregates over {len(aggregates['benchmarks'])} benchmarks; not scored: "
                     f"{', '.join(aggregates['missing'])}")
    for name, why in scores.get("not_run", {}).items():
        lines.append(f"  not run: {name}: {why}")
    return "\n".join(lines)
