"""One figure (and table) builder per experiment kind; each reads only done rows of the store."""

from __future__ import annotations

import tomllib
from collections import defaultdict
from importlib import resources

import numpy as np

from divlab.report.threshold import fit_threshold

I_AXIS = "dataset.num_train_rules"


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    _plt().close(fig)


def _mean_sd(values):
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    return float(np.mean(values)), (float(np.std(values, ddof=1)) if len(values) > 1 else None)


def _fmt(mean, sd=None) -> str:
    if mean is None:
        return "–"
    return f"{mean:.3f}" + (f" ± {sd:.3f}" if sd is not None else "")


def group(rows, *axes):
    """(axis labels...) -> list of rows, keeping grid order."""
    out = defaultdict(list)
    for row in rows:
        out[tuple(row["point"].get(a) for a in axes)].append(row)
    return out


def metric(rows, split: str, key: str):
    return [r["result"][split][key] for r in rows]


def e1(rows, figure_path, axes_order) -> dict:
    plt = _plt()
    groups = group(rows, I_AXIS)
    counts = sorted(k[0] for k in groups)
    budget = rows[0]["config"]["dataset"]["budget"] if rows else None
    table = []
    means, sds, seen = [], [], []
    for count in counts:
        members = groups[(count,)]
        mean, sd = _mean_sd(metric(members, "unseen", "accuracy"))
        seen_mean, seen_sd = _mean_sd(metric(members, "seen", "accuracy"))
        means.append(mean), sds.append(sd or 0.0), seen.append(seen_mean)
        per_rule = members[0]["config"]["dataset"]
        examples = per_rule["examples_per_rule"] or (per_rule["budget"] / count)
        table.append([count, f"{examples:,.0f}", _fmt(mean, sd), _fmt(seen_mean, seen_sd), len(members)])
    all_points = [(r["point"][I_AXIS], r["result"]["unseen"]["accuracy"]) for r in rows]
    fit = fit_threshold([p[0] for p in all_points], [p[1] for p in all_points]) if all_points else None
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.axvspan(300, 1000, color="0.9", label="paper: transition between 300 and 1,000 instructions")
    ax.errorbar(counts, means, yerr=sds if any(sds) else None, marker="o", label="unseen rules", capsize=3)
    ax.plot(counts, seen, marker="s", linestyle="--", label="seen rules (control)")
    if fit:
        ax.axvline(fit["threshold"], color="C3", linestyle=":", label=f"fitted I* = {fit['threshold']:,.0f}")
    ax.set_xscale("log")
    ax.set_xlabel("number of distinct training instructions I")
    ax.set_ylabel("exact-match accuracy")
    ax.set_ylim(-0.03, 1.03)
    if budget:
        top = ax.secondary_xaxis("top", functions=(lambda i: budget / np.maximum(i, 1e-9), lambda s: budget / np.maximum(s, 1e-9)))
        top.set_xlabel("examples per instruction")
    ax.legend(fontsize=8, loc="center right")
    save_figure(fig, figure_path)
    return {"headers": ["I", "examples per instruction", "unseen-rule accuracy", "seen-rule accuracy", "seeds"],
            "table": table, "threshold": fit}


def _lines(rows, figure_path, line_axis, x_axis, panels, x_log=True, x_label="", legend_title=""):
    plt = _plt()
    groups = group(rows, line_axis, x_axis)
    line_labels = list(dict.fromkeys(k[0] for k in groups))
    x_labels = list(dict.fromkeys(k[1] for k in groups))
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    table = []
    for ax, (title, split, key) in zip(axes[0], panels):
        for line in line_labels:
            xs, ys, es = [], [], []
            for position, x in enumerate(x_labels):
                members = groups.get((line, x))
                if not members:
                    continue
                mean, sd = _mean_sd(metric(members, split, key))
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
        table.append([line, x] + [_fmt(*_mean_sd(metric(members, split, key))) for _, split, key in panels] + [len(members)])
    return table


def e2(rows, figure_path, axes_order) -> dict:
    panels = [("has-op", "unseen", "has_op_accuracy"), ("no-op", "unseen", "no_op_accuracy"), ("mean", "unseen", "accuracy")]
    table = _lines(rows, figure_path, "dataset.noop_fraction", I_AXIS, panels, x_label="instructions I", legend_title="no-op share")
    return {"headers": ["no-op share", "I", "has-op", "no-op", "mean", "seeds"], "table": table}


def e3(rows, figure_path, axes_order) -> dict:
    panels = [("accuracy vs distribution shape", "unseen", "accuracy")]
    table = _lines(rows, figure_path, I_AXIS, "shape", panels, x_log=False,
                   x_label="shape α (Uniform, then more peaked to the right)", legend_title="instructions I")
    return {"headers": ["I", "shape", "unseen accuracy", "seeds"], "table": table}


def e4(rows, figure_path, axes_order) -> dict:
    panels = [("trained on constrained families, tested on free rules", "unseen", "accuracy")]
    table = _lines(rows, figure_path, "constraint", I_AXIS, panels, x_label="instructions I", legend_title="family, k range")
    return {"headers": ["family, k range", "I", "unseen (free-rule) accuracy", "seeds"], "table": table}


def e5(rows, figure_path, axes_order) -> dict:
    reference = tomllib.loads(resources.files("divlab").joinpath("presets", "experiments", "e5", "paper_table1.toml").read_text())
    paper = {label: dict(zip(reference["instructions"], values)) for label, values in reference["rows"].items()}
    groups = group(rows, "occurrences", I_AXIS)
    occurrence_labels = list(dict.fromkeys(k[0] for k in groups))
    counts = sorted({k[1] for k in groups}, reverse=True)
    table = []
    for label in occurrence_labels:
        cells = []
        for count in counts:
            members = groups.get((label, count), [])
            ours = _fmt(*_mean_sd(metric(members, "unseen", "accuracy"))) if members else "–"
            theirs = paper.get(label, {}).get(count)
            cells.append(f"{ours} (paper {theirs:.2f})" if theirs is not None else ours)
        table.append([label] + cells)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    for label in occurrence_labels:
        ys = [_mean_sd(metric(groups.get((label, c), []), "unseen", "accuracy"))[0] if groups.get((label, c)) else None for c in counts]
        ax.plot(counts, [np.nan if v is None else v for v in ys], marker="o", label=f"train occurrences {label}")
    ax.set_xscale("log")
    ax.set_xlabel("instructions I")
    ax.set_ylabel("accuracy on unseen rules, 1-20 occurrences")
    ax.set_ylim(-0.03, 1.03)
    ax.legend(fontsize=8)
    save_figure(fig, figure_path)
    return {"headers": ["train occurrences"] + [f"I = {c}" for c in counts], "table": table}


# kind -> (builder, grid axes it needs)
def _llm_builders() -> dict:
    from divlab.report import llm

    return {"code-mix": (llm.code_mix, ()), "e6": (llm.e6, (I_AXIS,))}


BUILDERS = {
    **_llm_builders(),
    "e1": (e1, (I_AXIS,)),
    "e2": (e2, (I_AXIS, "dataset.noop_fraction")),
    "e3": (e3, (I_AXIS, "shape")),
    "e4": (e4, (I_AXIS, "constraint")),
    "e5": (e5, (I_AXIS, "occurrences")),
}
