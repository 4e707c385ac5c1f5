"""Learning curves (accuracy against examples seen, recorded with `train.eval_every`) for every cell of a
sweep, and the `study` report: which setting of a hyperparameter search reaches a given unseen-rule accuracy
with the fewest examples."""

from __future__ import annotations

import json

import numpy as np

from divlab.experiments.base import point_label
from divlab.report.common import Section, Verdict, accuracy_axes, fmt, group, mean_sd, not_enough, plt, save_figure

STUDY_LEVEL = 0.9


def _label(row) -> str:
    return point_label(row["point"])


def learning_curves_figure(rows, figure_path, suffix: str = "-curves") -> list[tuple[str, str]]:
    """One line per cell (unseen rules solid, seen rules dashed), coloured by grid point."""
    curves = [r for r in rows if r["result"].get("curve")]
    if not curves:
        return []
    pyplot = plt()
    points = list(dict.fromkeys(_label(r) for r in curves))
    colours = pyplot.get_cmap("viridis")(np.linspace(0, 0.9, len(points)))
    fig, ax = pyplot.subplots(figsize=(7.5, 4.5))
    labelled = set()  # one legend entry per grid point, however many seeds it has
    for row in curves:
        label = _label(row)
        colour = colours[points.index(label)]
        curve = np.array(row["result"]["curve"], dtype=float)
        ax.plot(curve[:, 0], curve[:, 1], color=colour, label=None if label in labelled else label)
        labelled.add(label)
        ax.plot(curve[:, 0], curve[:, 2], color=colour, linestyle="--", linewidth=0.8)
    accuracy_axes(ax, "training examples seen", "exact-match accuracy")
    ax.set_xscale("linear")
    ax.legend(fontsize=7, ncol=2 if len(points) > 6 else 1)
    name = figure_path.with_name(figure_path.stem + suffix + ".png")
    save_figure(fig, name)
    return [(name.name, "Learning curves: exact match on unseen rules (solid) and seen rules (dashed, the control) "
                        "against training examples seen, one line per cell, scored every train.eval_every steps on "
                        "a fixed subsample of each test split.")]


def examples_to(row, level: float = STUDY_LEVEL):
    return (row["result"].get("examples_to") or {}).get(str(level))


def study(rows, figure_path) -> Section:
    """Per grid point: examples to the study level (mean over the seeds that reached it, and how many did),
    final unseen and seen accuracy, wall time."""
    table = []
    for _, members in group(rows, *rows[0]["point"]).items() if rows else []:
        reached = [examples_to(r) for r in members if examples_to(r) is not None]
        table.append([_label(members[0]), fmt(*mean_sd([r["result"]["unseen"]["accuracy"] for r in members])),
                      fmt(*mean_sd([r["result"]["seen"]["accuracy"] for r in members])),
                      f"{np.mean(reached):,.0f}" if reached else "not reached", f"{len(reached)}/{len(members)}",
                      f"{np.mean([r['result']['train'].get('examples_seen', 0) for r in members]):,.0f}",
                      f"{np.mean([r['result']['wall_s'] for r in members]):.0f}"])
    table.sort(key=lambda line: float(line[3].replace(",", "")) if line[3] != "not reached" else float("inf"))
    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(7, 0.4 * max(3, len(table)) + 1))
    values = [float(line[3].replace(",", "")) if line[3] != "not reached" else 0 for line in table]
    ax.barh([line[0] for line in table], values, color=["C0" if v else "0.8" for v in values])
    ax.invert_yaxis()
    ax.set_xlabel(f"training examples to {STUDY_LEVEL} unseen-rule exact match (grey: not reached)")
    save_figure(fig, figure_path)
    notes = [f"Settings sorted by the examples they needed to reach {STUDY_LEVEL} unseen-rule exact match (first "
             "learning-curve point at or above it). Cells: " + json.dumps(sorted({_label(r) for r in rows}))]
    return Section(["setting", "final unseen", "final seen", f"examples to {STUDY_LEVEL}", "seeds reaching it",
                    "examples trained", "wall s"], table, notes=notes,
                   extra_figures=learning_curves_figure(rows, figure_path))


def check_study(rows) -> Verdict:
    """A study has no paper effect to show; its verdict names the fastest setting, or says none got there."""
    reached = [(examples_to(r), _label(r)) for r in rows if examples_to(r) is not None]
    if not reached:
        return not_enough(f"no cell reached {STUDY_LEVEL} unseen-rule accuracy")
    best = min(reached)
    return Verdict("shown", lead="Study result", reason=f"fastest to {STUDY_LEVEL} unseen-rule accuracy: {best[1]} after {best[0]:,} examples")
