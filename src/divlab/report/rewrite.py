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
    extra = _accuracy_vs_diversity(rows, figure_path) + learning_curves_figure(rows, figure_path)
    return Section(["I", "examples per instruction", "unseen-rule accuracy", "seen-rule accuracy", "seeds"], table,
                   notes=[note], cells=cells_table(rows), threshold=fit, extra_figures=extra)


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
            ax.errorbar(xs, ys, yerr=es if any(es) else None, marker="o", capsize=3, label=str(line))
        if x_log:
            ax.set_xscale("log")
        else:
            ax.set_xticks(range(len(x_labels)), [str(x) for x in x_labels])
        ax.set_title(title)
        ax.set_xlabel(x_label)
        ax.set_ylim(-0.03, 1.03)
    axes[0][0].set_ylabel("exact-match accuracy (unseen rules)")
    axes[0][-1].legend(title=legend_title, fontsize=8)
    save_figure(fig, figure_path)
    for (line, x), members in groups.items():
        table.append([line, x] + [fmt(*mean_sd(metric(members, split, key))) for _, split, key in panels] + [len(members)])
    return table


def e2(rows, figure_path) -> Section:
    panels = [("has-op", "unseen", "has_op_accuracy"), ("no-op", "unseen", "no_op_accuracy"), ("mean", "unseen", "accuracy")]
    table = _lines(rows, figure_path, "dataset.noop_fraction", I_AXIS, panels, x_label="instructions I", legend_title="no-op share")
    return Section(["no-op share", "I", "has-op", "no-op", "mean", "seeds"], table, cells=cells_table(rows),
                   extra_figures=learning_curves_figure(rows, figure_path))


def e3(rows, figure_path) -> Section:
    panels = [("accuracy vs distribution shape", "unseen", "accuracy")]
    table = _lines(rows, figure_path, I_AXIS, "shape", panels, x_log=False,
                   x_label="shape α (Uniform, then more peaked to the right)", legend_title="instructions I")
    return Section(["I", "shape", "unseen accuracy", "seeds"], table, cells=cells_table(rows),
                   extra_figures=learning_curves_figure(rows, figure_path))


def e4(rows, figure_path) -> Section:
    panels = [("trained on constrained families, tested on free rules", "unseen", "accuracy")]
    table = _lines(rows, figure_path, "constraint", I_AXIS, panels, x_label="instructions I", legend_title="family, k range")
    return Section(["family, k range", "I", "unseen (free-rule) accuracy", "seeds"], table, cells=cells_table(rows),
                   extra_figures=learning_curves_figure(rows, figure_path))


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
    accuracy_axes(ax, "instructions I", "accuracy on unseen rules, 1-20 occurrences")
    ax.legend(fontsize=8)
    save_figure(fig, figure_path)
    return Section(["train occurrences"] + [f"I = {c}" for c in counts], table, cells=cells_table(rows),
                   extra_figures=learning_curves_figure(rows, figure_path))
