"""Figures and tables of the from-scratch rewrite experiments (E1-E5), built from the store's done rows."""

from __future__ import annotations

import json

import numpy as np

from divlab.experiments.base import INSTRUCTIONS_AXIS as I_AXIS
from divlab.report.common import (Section, accuracy_axes, diversity_of, fmt, group, mean_sd, metric, plt, reference,
                                  save_figure)
from divlab.report.curves import learning_curves_figure
from divlab.report.threshold import fit_threshold


def cells_table(rows) -> tuple[list, list]:
    """One line per finished cell: accuracies, training steps and speed."""
    headers = ["cell", "point", "seed", "unseen", "has-op", "no-op", "seen", "rule Vendi (n-gram)", "steps", "train s",
               "tokens/s"]
    table = [[r["cell_id"], json.dumps(r["point"]), r["seed"], fmt(r["result"]["unseen"]["accuracy"]),
              fmt(r["result"]["unseen"]["has_op_accuracy"]), fmt(r["result"]["unseen"]["no_op_accuracy"]),
              fmt(r["result"]["seen"]["accuracy"]), fmt(diversity_of(r)), r["result"]["train"]["steps"],
              f"{r['result']['train']['elapsed_s']:.0f}", f"{r['result']['train']['tokens_per_s']:,.0f}"] for r in rows]
    return headers, table


def e1(rows, figure_path) -> Section:
    pyplot = plt()
    groups = group(rows, I_AXIS)
    counts = sorted(k[0] for k in groups)
    budget = rows[0]["config"]["dataset"]["budget"] if rows else None
    table = []
    means, sds, seen = [], [], []
    for count in counts:
        members = groups[(count,)]
        mean, sd = mean_sd(metric(members, "unseen", "accuracy"))
        seen_mean, seen_sd = mean_sd(metric(members, "seen", "accuracy"))
        means.append(mean), sds.append(sd or 0.0), seen.append(seen_mean)
        per_rule = members[0]["config"]["dataset"]
        examples = per_rule["examples_per_rule"] or (per_rule["budget"] / count)
        table.append([count, f"{examples:,.0f}", fmt(mean, sd), fmt(seen_mean, seen_sd), len(members)])
    all_points = [(r["point"][I_AXIS], r["result"]["unseen"]["accuracy"]) for r in rows]
    fit = fit_threshold([p[0] for p in all_points], [p[1] for p in all_points]) if all_points else None
    low, high = reference("e1")["transition"]
    fig, ax = pyplot.subplots(figsize=(7, 4.2))
    ax.axvspan(low, high, color="0.9", label=f"paper: transition between {low:,} and {high:,} instructions")
    ax.errorbar(counts, means, yerr=sds if any(sds) else None, marker="o", label="unseen rules", capsize=3)
    ax.plot(counts, seen, marker="s", linestyle="--", label="seen rules (control)")
    if fit:
        ax.axvline(fit["threshold"], color="C3", linestyle=":", label=f"fitted I* = {fit['threshold']:,.0f}")
    accuracy_axes(ax, "number of distinct training instructions I", "exact-match accuracy")
    if budget:
        top = ax.secondary_xaxis("top", functions=(lambda i: budget / np.maximum(i, 1e-9), lambda s: budget / np.maximum(s, 1e-9)))
        top.set_xlabel("examples per instruction")
    ax.legend(fontsize=8, loc="center right")
    save_figure(fig, figure_path)
    estimate = (f"{fit['threshold']:,.0f} [{fit['low']:,.0f}, {fit['high']:,.0f}]" if fit
                else "not estimable (accuracy never crosses 0.5)")
    note = (f"Estimated threshold I* (logistic fit of unseen-rule accuracy vs log I, 95 % bootstrap interval): "
            f"{estimate}. The paper reports no generalization below ~{low:,} instructions and always above {high:,}.")
    examples_figure, examples_table = _examples_to_threshold(rows, figure_path)
    extra = examples_figure + learning_curves_figure(rows, figure_path) + _accuracy_vs_diversity(rows, figure_path)
    return Section(["I", "examples per instruction", "unseen-rule accuracy", SEEN_COLUMN, "seeds"], table,
                   notes=[note], cells=cells_table(rows), threshold=fit, extra_figures=extra,
                   extra_tables=[examples_table, per_rule_spread(rows, I_AXIS)])


def _accuracy_vs_diversity(rows, figure_path) -> list[tuple[str, str]]:
    """Unseen-rule accuracy against the measured diversity of each cell's rules (n-gram Vendi Score) instead
    of their count: does a measured diversity predict generalization as well as I does?"""
    points = [(diversity_of(r), r["result"]["unseen"]["accuracy"], r["point"][I_AXIS]) for r in rows
              if diversity_of(r) is not None]
    if len(points) < 2:
        return []
    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(7, 4.2))
    scatter = ax.scatter([p[0] for p in points], [p[1] for p in points], c=np.log10([p[2] for p in points]),
                         cmap="viridis")
    fig.colorbar(scatter, ax=ax, label="log10 I")
    accuracy_axes(ax, "measured diversity of the training rules (n-gram Vendi Score)", "unseen-rule accuracy")
    name = figure_path.with_name(figure_path.stem + "-diversity.png")
    save_figure(fig, name)
    return [(name.name, "Unseen-rule accuracy against the measured diversity of each cell's training rules "
                        "(character n-gram Vendi Score of 'x -> y'), coloured by the instruction count I.")]


def _lines(rows, figure_path, line_axis, x_axis, panels, x_log=True, x_label="", legend_title=""):
    pyplot = plt()
    groups = group(rows, line_axis, x_axis)
    line_labels = list(dict.fromkeys(k[0] for k in groups))
    x_labels = list(dict.fromkeys(k[1] for k in groups))
    fig, axes = pyplot.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    table = []
    for ax, (title, split, key) in zip(axes[0], panels):
        for line in line_labels:
            xs, ys, es = [], [], []
            for position, x in enumerate(x_labels):
                members = groups.get((line, x))
                if not members:
                    continue
                mean, sd = mean_sd(metric(members, split, key))
                xs.append(x if x_log else position), ys.append(mean), es.append(sd or 0.0)
            drawn = ax.errorbar(xs, ys, yerr=es if any(es) else None, marker="o", capsize=3, label=str(line))
            seen = [mean_sd(metric(groups[(line, x)], "seen", key))[0] for x in x_labels if groups.get((line, x))]
            ax.plot(xs, [np.nan if v is None else v for v in seen], linestyle="--", linewidth=0.9, marker="s",
                    markersize=3, color=drawn[0].get_color())
        if x_log:
            ax.set_xscale("log")
        else:
            ax.set_xticks(range(len(x_labels)), [str(x) for x in x_labels])
        ax.set_title(title)
        ax.set_xlabel(x_label)
        ax.set_ylim(-0.03, 1.03)
    axes[0][0].set_ylabel("exact match: unseen rules (solid), seen rules (dashed)")
    axes[0][-1].legend(title=legend_title, fontsize=8)
    save_figure(fig, figure_path)
    for (line, x), members in groups.items():
        table.append([line, x] + [fmt(*mean_sd(metric(members, split, key))) for _, split, key in panels]
                     + [fmt(*mean_sd(metric(members, "seen", "accuracy"))), len(members)])
    return table


SEEN_COLUMN = "seen-rule accuracy (control)"


def per_rule_spread(rows, *axes) -> tuple[str, list, list]:
    """How accuracy spreads over the unseen test rules, per grid point (means over seeds): the 10th, 50th and
    90th percentile of per-rule accuracy and the share of rules solved on every example. A mean of 0.5 can
    be every rule half-solved or half the rules solved."""
    table = []
    for labels, members in group(rows, *axes).items():
        spreads = [m["result"]["unseen"]["per_rule"] for m in members]
        quantile = {q: mean_sd([s["quantiles"].get(q) for s in spreads])[0] for q in ("0.1", "0.5", "0.9")}
        solved = mean_sd([s["fully_correct_rules"] / s["rules"] for s in spreads if s.get("rules")])[0]
        table.append([*labels, spreads[0].get("rules", "–")] + [fmt(quantile[q]) for q in ("0.1", "0.5", "0.9")]
                     + [fmt(solved), len(members)])
    headers = [axis.split(".")[-1] for axis in axes] + ["unseen test rules", "10th pct", "median", "90th pct",
                                                        "share fully solved", "seeds"]
    return ("Per-rule accuracy on unseen rules (spread over the test rules)", headers, table)


def _by_test_occurrences(rows) -> tuple[str, list, list]:
    """E5's accuracy split by how often x occurs in the test input (means over seeds), with the seen-rule
    control: which occurrence counts each training regime handles."""
    groups = group(rows, "occurrences", I_AXIS)
    tested = sorted({int(k) for r in rows for k in r["result"]["unseen"]["by_occurrences"]})
    table = []
    for (label, count), members in groups.items():
        table.append([label, count] + [fmt(mean_sd([m["result"]["unseen"]["by_occurrences"].get(str(t)) for m in members])[0])
                                       for t in tested] + [fmt(*mean_sd(metric(members, "seen", "accuracy"))), len(members)])
    headers = ["train occurrences", "I"] + [f"test {t}" for t in tested] + [SEEN_COLUMN, "seeds"]
    return ("Unseen-rule accuracy by occurrences of x in the test input", headers, table)


def _examples_to_threshold(rows, figure_path) -> tuple[list[tuple[str, str]], tuple[str, list, list]]:
    """E1's cost of generalizing: training examples until unseen-rule accuracy first reaches 0.5 and 0.9
    (learning-curve points), per instruction count, over the seeds that reached it."""
    from divlab.experiments.rewrite import CURVE_LEVELS

    groups = group(rows, I_AXIS)
    counts = sorted(k[0] for k in groups)
    table, lines = [], {level: ([], [], []) for level in CURVE_LEVELS}
    for count in counts:
        members = groups[(count,)]
        line = [count]
        for level in CURVE_LEVELS:
            reached = [m["result"].get("examples_to", {}).get(str(level)) for m in members]
            reached = [v for v in reached if v is not None]
            mean, sd = mean_sd(reached)
            line += [f"{mean:,.0f}" + (f" ± {sd:,.0f}" if sd is not None else "") if reached else "not reached",
                     f"{len(reached)}/{len(members)}"]
            if reached:
                xs, ys, es = lines[level]
                xs.append(count), ys.append(mean), es.append(sd or 0.0)
        table.append(line)
    headers = ["I"] + [h for level in CURVE_LEVELS for h in (f"examples to {level}", f"seeds reaching {level}")]
    title = "Training examples until unseen-rule accuracy first reaches each level"
    if not any(lines[level][0] for level in CURVE_LEVELS):
        return [], (title, headers, table)
    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(7, 4.2))
    for level in CURVE_LEVELS:
        xs, ys, es = lines[level]
        if xs:
            ax.errorbar(xs, ys, yerr=es if any(es) else None, marker="o", capsize=3, label=f"unseen accuracy {level}")
    ax.set_xscale("log")
    ax.set_xlabel("number of distinct training instructions I")
    ax.set_ylabel("training examples seen")
    ax.legend(fontsize=8)
    name = figure_path.with_name(figure_path.stem + "-examples-to.png")
    save_figure(fig, name)
    caption = ("Examples to threshold: training examples seen until unseen-rule accuracy first reaches 0.5 and 0.9, "
               "mean ± sd over the seeds that reached it (instruction counts where none did are left out; see the "
               "table).")
    return [(name.name, caption)], (title, headers, table)


def e2(rows, figure_path) -> Section:
    panels = [("has-op", "unseen", "has_op_accuracy"), ("no-op", "unseen", "no_op_accuracy"), ("mean", "unseen", "accuracy")]
    table = _lines(rows, figure_path, "dataset.noop_fraction", I_AXIS, panels, x_label="instructions I", legend_title="no-op share")
    paper = reference("e2")
    note = (f"The paper (V3 Fig. 2b): generalization appears past ~{paper['threshold']} instructions and from there "
            "the no-op share (10-50 %) matters little; it reports has-op and no-op accuracy apart, as here.")
    return Section(["no-op share", "I", "has-op", "no-op", "mean", SEEN_COLUMN, "seeds"], table, notes=[note],
                   cells=cells_table(rows), extra_figures=learning_curves_figure(rows, figure_path),
                   extra_tables=[per_rule_spread(rows, "dataset.noop_fraction", I_AXIS)])


def e3(rows, figure_path) -> Section:
    panels = [("accuracy vs distribution shape", "unseen", "accuracy")]
    table = _lines(rows, figure_path, I_AXIS, "shape", panels, x_log=False,
                   x_label="shape α (Uniform, then more peaked to the right)", legend_title="instructions I")
    paper = reference("e3")
    note = (f"The paper (Fig. 3, 10^6 examples): with {paper['robust_from']:,} or more instructions accuracy is "
            f"robust to the skew; with {paper['collapse_at']:,} it collapses once the law is more peaked than "
            f"α = {paper['collapse_alpha']}. A miniature's instruction counts are scaled down with its budget, so "
            "compare the shape of the effect, not the counts.")
    return Section(["I", "shape", "unseen accuracy", SEEN_COLUMN, "seeds"], table, notes=[note], cells=cells_table(rows),
                   extra_figures=learning_curves_figure(rows, figure_path),
                   extra_tables=[per_rule_spread(rows, I_AXIS, "shape")])


def e4(rows, figure_path) -> Section:
    panels = [("trained on constrained families, tested on free rules", "unseen", "accuracy")]
    table = _lines(rows, figure_path, "constraint", I_AXIS, panels, x_label="instructions I", legend_title="family, k range")
    note = ("The paper (Fig. 4): " + reference("e4")["claim"] + " Its test rules are less constrained (k < 3) "
            "than its training rules, at pattern length 60; here they are free rules of the miniature's length.")
    return Section(["family, k range", "I", "unseen (free-rule) accuracy", SEEN_COLUMN, "seeds"], table,
                   notes=[note], cells=cells_table(rows), extra_figures=learning_curves_figure(rows, figure_path),
                   extra_tables=[per_rule_spread(rows, "constraint", I_AXIS)])


def e5(rows, figure_path) -> Section:
    paper_table = reference("e5")
    paper = {label: dict(zip(paper_table["instructions"], values)) for label, values in paper_table["rows"].items()}
    groups = group(rows, "occurrences", I_AXIS)
    occurrence_labels = list(dict.fromkeys(k[0] for k in groups))
    counts = sorted({k[1] for k in groups}, reverse=True)
    table = []
    for label in occurrence_labels:
        cells = []
        for count in counts:
            members = groups.get((label, count), [])
            ours = fmt(*mean_sd(metric(members, "unseen", "accuracy"))) if members else "–"
            theirs = paper.get(label, {}).get(count)
            cells.append(f"{ours} (paper {theirs:.2f})" if theirs is not None else ours)
        table.append([label] + cells)
    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(7, 4))
    for label in occurrence_labels:
        ys = [mean_sd(metric(groups.get((label, c), []), "unseen", "accuracy"))[0] if groups.get((label, c)) else None for c in counts]
        ax.plot(counts, [np.nan if v is None else v for v in ys], marker="o", label=f"train occurrences {label}")
    tested = rows[0]["config"]["dataset"].get("test_occurrences") or ["?"]
    accuracy_axes(ax, "instructions I", f"accuracy on unseen rules, {min(tested)}-{max(tested)} occurrences")
    ax.legend(fontsize=8)
    save_figure(fig, figure_path)
    note = (f"Cells read 'ours (paper N)': the paper's Table 1 ({paper_table['source']}) at the same instruction "
            "count where it has one; its budget is 10^6 examples and its test covers 1-20 occurrences, so compare "
            "the ordering of the rows, not the counts.")
    return Section(["train occurrences"] + [f"I = {c}" for c in counts], table, notes=[note], cells=cells_table(rows),
                   extra_figures=learning_curves_figure(rows, figure_path),
                   extra_tables=[_by_test_occurrences(rows), per_rule_spread(rows, "occurrences", I_AXIS)])
