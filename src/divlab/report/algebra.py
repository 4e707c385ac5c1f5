"""Figures, tables and verdicts of E7 (algebraic identities, paper §2.7), from the store's done rows.

Generalist (Fig. 5a): a fixed budget over more or fewer rules, scored on unseen rules. Specialist
(Fig. 5b-c): specialist rules trained at shallow pattern depth beside diversification rules, scored on the
specialist rules at deeper patterns (result key "depth")."""

from __future__ import annotations

from divlab.experiments.base import INSTRUCTIONS_AXIS as I_AXIS
from divlab.report.common import (Section, Verdict, accuracy_axes, fmt, mean_sd, not_enough, plt, reference,
                                  save_figure, shown_if)
from divlab.report.curves import learning_curves_figure
from divlab.report.rewrite import SEEN_COLUMN, cells_table, per_rule_spread

MARGIN = 0.05  # an accuracy gain smaller than this is not called an effect


def _by(rows, key) -> dict:
    out: dict = {}
    for row in rows:
        out.setdefault(key(row), []).append(row)
    return dict(sorted(out.items()))


def _cells(rows) -> tuple[list, list]:
    """The per-cell table: the from-scratch one, or for LoRA cells (no trainer summary) the LLM one."""
    if all("train" in r["result"] for r in rows):
        return cells_table(rows)
    headers = ["cell", "point", "seed", "unseen", "seen", "deeper patterns", "steps", "wall s"]
    return headers, [[r["cell_id"], str(r["point"]), r["seed"], fmt(r["result"]["unseen"]["accuracy"]),
                      fmt(r["result"]["seen"]["accuracy"]), fmt(r["result"].get("depth", {}).get("accuracy")),
                      r["result"].get("finetune", {}).get("steps", "–"), f"{r['result']['wall_s']:.0f}"] for r in rows]


def _spread(rows, *axes) -> list:
    """Per-rule spread where the cells measured it (from-scratch evaluation; greedy LLM scoring does not)."""
    return [per_rule_spread(rows, *axes)] if all("per_rule" in r["result"]["unseen"] for r in rows) else []


def _score(members, split: str):
    return mean_sd([m["result"].get(split, {}).get("accuracy") for m in members])


def generalist(rows, figure_path) -> Section:
    groups = _by(rows, lambda r: r["config"]["dataset"]["num_train_rules"])
    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(7, 4.2))
    counts = list(groups)
    unseen = [_score(groups[c], "unseen") for c in counts]
    seen = [_score(groups[c], "seen") for c in counts]
    ax.errorbar(counts, [m for m, _ in unseen], yerr=[s or 0.0 for _, s in unseen], marker="o", capsize=3,
                label="unseen rules")
    ax.plot(counts, [m for m, _ in seen], marker="s", linestyle="--", label="seen rules (control)")
    accuracy_axes(ax, "number of distinct training rules", "exact-match accuracy")
    ax.legend(fontsize=8)
    save_figure(fig, figure_path)
    table = []
    for count, (u, s) in zip(counts, zip(unseen, seen)):
        dataset = groups[count][0]["config"]["dataset"]
        budget = dataset["budget"] or dataset["examples_per_rule"] * count
        table.append([count, f"{budget / count:,.0f}", fmt(*u), fmt(*s), len(groups[count])])
    paper = reference("e7")
    note = (f"The paper (Fig. 5a, Mistral-7B, {paper['budget']:,} examples over 10, 20 or 40 rules): "
            f"{paper['claim']} Rules here are {rows[0]['config']['dataset']['rule_source']}.")
    return Section(["training rules", "examples per rule", "unseen-rule accuracy", SEEN_COLUMN, "seeds"], table,
                   notes=[note], cells=_cells(rows), extra_figures=learning_curves_figure(rows, figure_path),
                   extra_tables=_spread(rows, I_AXIS))


def check_generalist(rows) -> Verdict:
    groups = _by(rows, lambda r: r["config"]["dataset"]["num_train_rules"])
    if len(groups) < 2:
        return not_enough("needs at least two rule counts with finished cells")
    counts = list(groups)
    low, high = _score(groups[counts[0]], "unseen")[0], _score(groups[counts[-1]], "unseen")[0]
    return shown_if(high >= low + MARGIN, (
        f"unseen-rule accuracy is {low:.2f} with {counts[0]} training rules and {high:.2f} with {counts[-1]} at the "
        "same budget (the paper: more distinct rules, better accuracy on unseen rules)"))


def _specialists(row) -> int:
    dataset = row["config"]["dataset"]
    return dataset["num_train_rules"] - dataset["diver_rules"]


def specialist(rows, figure_path) -> Section:
    by_line = _by(rows, _specialists)
    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(7, 4.2))
    table = []
    for index, (spec, members) in enumerate(sorted(by_line.items())):
        points = _by(members, lambda r: (r["config"]["dataset"]["diver_rules"], r["config"]["dataset"]["diver_share"]))
        xs = list(range(len(points)))
        depth = [_score(m, "depth") for m in points.values()]
        shallow = [_score(m, "seen") for m in points.values()]
        colour = f"C{index}"
        ax.errorbar(xs, [m for m, _ in depth], yerr=[s or 0.0 for _, s in depth], marker="o", capsize=3, color=colour,
                    label=f"{spec} specialist rules: deeper patterns")
        ax.plot(xs, [m for m, _ in shallow], marker="s", linestyle="--", color=colour, linewidth=0.9,
                label=f"{spec} specialist rules: training depth (control)")
        ax.set_xticks(xs, [f"{d} rules, {share:.0%}" if d else "none" for d, share in points])
        for ((diver, share), members_at), d, s in zip(points.items(), depth, shallow):
            table.append([spec, diver, f"{share:.0%}" if diver else "–", fmt(*d), fmt(*s),
                          fmt(*_score(members_at, "unseen")), len(members_at)])
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("diversification: rules, share of the budget")
    ax.set_ylabel("exact-match accuracy")
    ax.legend(fontsize=7)
    save_figure(fig, figure_path)
    paper = reference("e7")
    note = f"The paper (Fig. 5b-c): {paper['specialist_claim']}"
    return Section(["specialist rules", "diversification rules", "their share", "deeper patterns (OOD depth)",
                    "training depth (control)", "unseen rules", "seeds"], table, notes=[note], cells=_cells(rows),
                   extra_figures=learning_curves_figure(rows, figure_path))


def check_specialist(rows) -> Verdict:
    without = [r for r in rows if r["config"]["dataset"]["diver_rules"] == 0]
    with_diver = _by([r for r in rows if r["config"]["dataset"]["diver_rules"] > 0],
                     lambda r: (r["config"]["dataset"]["diver_rules"], r["config"]["dataset"]["diver_share"]))
    if not without or not with_diver:
        return not_enough("needs cells with and without diversification rules")
    base = _score(without, "depth")[0]
    best_point, best = max(((p, _score(m, "depth")[0]) for p, m in with_diver.items()), key=lambda item: item[1])
    return shown_if(best >= base + MARGIN, (
        f"on the specialist rules at deeper patterns, accuracy is {base:.2f} without diversification and up to "
        f"{best:.2f} with {best_point[0]} diversification rules taking {best_point[1]:.0%} of the budget (the paper: "
        "a share of diverse rules improves the specialist out of its training depth)"))
