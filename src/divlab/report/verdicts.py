"""Does a rewrite run (E1-E5) show the paper's effect? One check per experiment, computed from the store's
rows, three-valued: shown, not shown, or not enough data (a grid too small or incomplete to judge)."""

from __future__ import annotations

from divlab.experiments.base import INSTRUCTIONS_AXIS as I_AXIS
from divlab.report.common import Verdict, mean_by, not_enough, shown_if


def check_e1(rows) -> Verdict:
    acc = mean_by(rows, I_AXIS)
    counts = sorted(k[0] for k in acc)
    if len(counts) < 3:
        return not_enough(f"{len(counts)} instruction count(s) finished; the threshold needs at least 3")
    low, high = acc[(counts[0],)], acc[(counts[-1],)]
    jumps = [acc[(b,)] - acc[(a,)] for a, b in zip(counts, counts[1:])]
    return shown_if(low <= 0.1 and high >= 0.9, (
        f"unseen-rule accuracy {low:.2f} at I = {counts[0]:,} and {high:.2f} at I = {counts[-1]:,} "
        f"(the paper: ~0 at few instructions, ~1 past the threshold); the largest rise between neighbouring "
        f"instruction counts is {max(jumps):.2f}"))


def check_e2(rows) -> Verdict:
    has_op = mean_by(rows, I_AXIS, "dataset.noop_fraction", key="has_op_accuracy")
    counts = sorted({k[0] for k in has_op})
    fractions = sorted({k[1] for k in has_op})
    if len(counts) < 2 or len(fractions) < 2:
        return not_enough("needs at least two instruction counts and two no-op shares with finished cells")
    top = [has_op[(counts[-1], f)] for f in fractions if (counts[-1], f) in has_op]
    bottom = [has_op[(counts[0], f)] for f in fractions if (counts[0], f) in has_op]
    if len(top) < 2 or not bottom:
        return not_enough(f"the largest I = {counts[-1]:,} needs two no-op shares, the smallest one at least one")
    spread = max(top) - min(top)
    return shown_if(min(top) - max(bottom) >= 0.5 and spread <= 0.15, (
        f"has-op accuracy rises from at most {max(bottom):.2f} (I = {counts[0]:,}) to at least {min(top):.2f} "
        f"(I = {counts[-1]:,}); at the largest I the no-op share moves it by {spread:.2f} (the paper: past ~400 "
        "instructions the no-op share matters little)"))


def check_e3(rows) -> Verdict:
    acc = mean_by(rows, I_AXIS, "shape")
    counts = sorted({k[0] for k in acc})
    shapes = list(dict.fromkeys(k[1] for k in acc))
    drops = {c: acc[(c, shapes[0])] - acc[(c, shapes[-1])] for c in counts
             if (c, shapes[0]) in acc and (c, shapes[-1]) in acc}
    if len(shapes) < 2 or counts[0] not in drops or counts[-1] not in drops or counts[0] == counts[-1]:
        return not_enough("needs the uniform and the most peaked shape at both the smallest and the largest I")
    return shown_if(drops[counts[-1]] <= 0.15 and drops[counts[0]] > drops[counts[-1]] + 0.15, (
        "from the uniform to the most peaked allocation, accuracy drops by "
        + ", ".join(f"{drops[c]:.2f} at I = {c:,}" for c in sorted(drops))
        + " (the paper: many instructions are robust to skew, few are not)"))


def check_e4(rows) -> Verdict:
    acc = mean_by(rows, I_AXIS, "constraint")
    if not acc:
        return not_enough("no finished cells")
    largest = max(k[0] for k in acc)
    at_largest = {str(label): v for (c, label), v in acc.items() if c == largest}
    mixed = [v for label, v in at_largest.items() if label.startswith("all")]
    control = [v for label, v in at_largest.items() if label.startswith("free")]  # trained on free rules
    single = [v for label, v in at_largest.items() if not label.startswith(("all", "free"))]
    if not mixed or not single:
        return not_enough(f"at I = {largest:,} needs both single-family and all-families cells")
    reason = (f"at I = {largest:,}, free-rule accuracy is at most {max(single):.2f} after single constrained families and "
              f"up to {max(mixed):.2f} after all three mixed (the paper: only the mixture generalizes)")
    if control:
        reason += f"; trained on free rules themselves, the same model reaches {max(control):.2f}"
    return shown_if(max(mixed) > max(single) + 0.1, reason)


def check_e5(rows) -> Verdict:
    acc = mean_by(rows, "occurrences", I_AXIS)
    counts = sorted({k[1] for k in acc})
    comparable = [c for c in counts if ("mixed", c) in acc and any(o != "mixed" and cc == c for o, cc in acc)]
    if not comparable:
        return not_enough("needs mixed-occurrence and single-count cells at the same instruction count")
    better = [c for c in comparable
              if acc[("mixed", c)] >= max(v for (o, cc), v in acc.items() if cc == c and o != "mixed") - 0.02]
    shown = len(better) == len(comparable) and max(acc[("mixed", c)] for c in comparable) >= 0.5
    return shown_if(shown, (
        f"the mixed-occurrence training is at least as good as every single count at {len(better)} of "
        f"{len(comparable)} instruction counts (the paper: mixing occurrence counts lifts accuracy)"))
