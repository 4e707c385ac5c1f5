"""E8's figure, tables and verdict: unseen-program accuracy against the number of distinct training programs,
one line per number of rules per program k, with the threshold I* fitted per k. The question E8 asks: does
the diversity threshold of the single-rule task reappear, shift, or vanish when each instruction is a program?"""

from __future__ import annotations

from divlab.experiments.program import PROGRAMS_AXIS
from divlab.report.common import Section, Verdict, accuracy_axes, fmt, mean_sd, not_enough, plt, save_figure
from divlab.report.curves import learning_curves_figure
from divlab.report.rewrite import SEEN_COLUMN, cells_table, per_rule_spread
from divlab.report.threshold import fit_threshold


def _k(row) -> str:
    low, high = row["config"]["dataset"]["rules_per_program"]
    return str(low) if low == high else f"{low}-{high}"


def _by_k(rows) -> dict:
    out: dict = {}
    for row in rows:
        out.setdefault(_k(row), []).append(row)
    return dict(sorted(out.items(), key=lambda item: [int(p) for p in item[0].split("-")]))


def _fit(members) -> dict | None:
    return fit_threshold([r["point"][PROGRAMS_AXIS] for r in members], [r["result"]["unseen"]["accuracy"] for r in members])


def e8(rows, figure_path) -> Section:
    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(7.5, 4.5))
    table, notes = [], []
    for index, (k, members) in enumerate(_by_k(rows).items()):
        counts = sorted({r["point"][PROGRAMS_AXIS] for r in members})
        unseen = [mean_sd([r["result"]["unseen"]["accuracy"] for r in members if r["point"][PROGRAMS_AXIS] == c]) for c in counts]
        seen = [mean_sd([r["result"]["seen"]["accuracy"] for r in members if r["point"][PROGRAMS_AXIS] == c]) for c in counts]
        colour = f"C{index}"
        ax.errorbar(counts, [m for m, _ in unseen], yerr=[s or 0.0 for _, s in unseen], marker="o", capsize=3,
                    color=colour, label=f"k = {k} rules: unseen programs")
        ax.plot(counts, [m for m, _ in seen], linestyle="--", marker="s", markersize=3, color=colour, linewidth=0.9)
        fit = _fit(members)
        if fit:
            ax.axvline(fit["threshold"], color=colour, linestyle=":", linewidth=0.9)
        notes.append(f"k = {k}: I* = " + (f"{fit['threshold']:,.0f} [{fit['low']:,.0f}, {fit['high']:,.0f}]" if fit
                                          else "not estimable (unseen-program accuracy never crosses 0.5)"))
        for count, u, s in zip(counts, unseen, seen):
            table.append([k, count, fmt(*u), fmt(*s), sum(r["point"][PROGRAMS_AXIS] == count for r in members)])
    accuracy_axes(ax, "number of distinct training programs I", "exact match: unseen (solid), seen (dashed)")
    ax.legend(fontsize=8)
    save_figure(fig, figure_path)
    notes.insert(0, "Threshold I* per k: logistic fit of unseen-program accuracy against log I, 95 % bootstrap interval "
                    "(dotted lines). k = 1 is the paper's single-rule task.")
    return Section(["rules per program k", "programs I", "unseen-program accuracy", SEEN_COLUMN, "seeds"], table,
                   notes=notes, cells=cells_table(rows), extra_figures=learning_curves_figure(rows, figure_path),
                   extra_tables=[per_rule_spread(rows, "dataset.rules_per_program", PROGRAMS_AXIS)]
                   if "dataset.rules_per_program" in rows[0]["point"] else [per_rule_spread(rows, PROGRAMS_AXIS)])


def check_e8(rows) -> Verdict:
    """No paper effect to reproduce: the verdict says what happened to the threshold as k grows."""
    groups = _by_k(rows)
    if any(len({r["point"][PROGRAMS_AXIS] for r in members}) < 3 for members in groups.values()):
        return not_enough("every k needs at least 3 program counts to fit its threshold")
    fits = {k: _fit(members) for k, members in groups.items()}
    parts = [f"k = {k}: " + (f"I* = {fit['threshold']:,.0f} [{fit['low']:,.0f}, {fit['high']:,.0f}]" if fit else "no threshold")
             for k, fit in fits.items()]
    found = [(k, fit) for k, fit in fits.items() if fit]
    if not found:
        story = "no k generalizes to unseen programs within the grid"
    elif len(found) < len(fits):
        story = "the threshold vanishes past k = " + found[-1][0] + " (no crossing of 0.5 within the grid)"
    else:
        first, last = found[0][1], found[-1][1]
        if last["low"] > first["high"]:
            story = "the threshold shifts up as k grows"
        elif last["high"] < first["low"]:
            story = "the threshold shifts down as k grows"
        else:
            story = "the threshold reappears at about the same I (the intervals overlap)"
    return Verdict("shown", lead="E8 result", reason=f"{story}; " + "; ".join(parts))
