"""The scale ladder's page (DIR/README.md, figures in DIR/figures): I* per rung, the fitted law and its
extrapolation beside the paper's band, accuracy against I per rung, S* against budget, the one-example-per-
instruction points, the model ladder, E4 at the top rung, and what each rung cost. Every number is read from
the stores the ladder's manifest names; `divlab report DIR` rewrites the page from them alone."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from divlab.atomic import atomic_write_text
from divlab.report.common import accuracy_axes, fmt, mean_sd, plt, reference, save_figure
from divlab.report.markdown import render_markdown
from divlab.report.page import Figure, Page, Table, Text
from divlab.scaling.ladder import Ladder, Rung, non_embedding_params, read_ladder
from divlab.scaling.law import (LEARNED, MIN_EXAMPLES_PER_INSTRUCTION, Threshold, fit_power_law, predict,
                                thresholds_by_rung, what_governs)
from divlab.sweep.store import DATABASE, ResultStore

FIGURES = "figures"
PAPER_BUDGET = 1_000_000
PAPER_MODEL = (6, 256)  # the paper's GPT-2: 6 layers, width 256 (paper brief §1.3)


def write_ladder_page(directory) -> Path:
    directory = Path(directory)
    ladder = read_ladder(directory)
    page = build_ladder_page(ladder, directory / FIGURES)
    return atomic_write_text(directory / "README.md", render_markdown(page, figure_prefix=f"{FIGURES}/"))


def _interval(t: Threshold) -> str:
    if not t.estimable:
        return f"no I* ({t.reason})"
    low, high = t.interval()
    return f"{t.value:,.0f} [{low:,.0f}, {high:,.0f}]"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:,.1f} min"


def build_ladder_page(ladder: Ladder, figure_dir: Path) -> Page:
    figure_dir.mkdir(parents=True, exist_ok=True)
    base, models = ladder.base_rungs(), ladder.model_rungs()
    thresholds = thresholds_by_rung(ladder.rungs)
    base_t = [thresholds[id(r)] for r in base]
    model_t = [thresholds[id(r)] for r in models]
    budget_law, model_law = fit_power_law(base_t, "budget"), fit_power_law(model_t, "params")
    page = Page("Scale ladder: the E1 threshold from the miniature towards the paper's scale")
    page.blocks.append(Text(ladder.manifest.get("description", "")))
    page.blocks.append(Text("\n".join(ladder.manifest.get("commands", [])), "code"))
    page.blocks += [Text(line) for line in _provenance(ladder)]
    page.blocks += [Text(line, "warning") for line in _unfinished(ladder)]
    page.blocks.append(Text("Thresholds", "h2"))
    page.blocks.append(Text(
        f"I* per rung: the logistic fit of unseen-rule accuracy against log I (as on the gallery's E1 page) over the "
        f"cells with at least {MIN_EXAMPLES_PER_INSTRUCTION} examples per instruction (the extremes with fewer are "
        "shown apart below), with a 95 % bootstrap interval that resamples seeds within each instruction count. "
        "S* = budget / I*."))
    page.blocks.append(Table(
        ["budget", "model", "non-embedding params", "cells", "seeds", "I* [95 %]", "S* (examples per instruction)",
         "training time", "per cell"],
        [[f"{r.recipe.budget:,}", r.recipe.model, f"{r.recipe.params:,}", len(r.points), len(r.seeds),
          _interval(thresholds[id(r)]),
          f"{thresholds[id(r)].examples_per_instruction:,.0f}" if thresholds[id(r)].estimable else "–",
          _minutes(_cell_seconds(r)), _minutes(_cell_seconds(r) / max(1, len(r.points)))] for r in ladder.rungs]))
    page.blocks += _law_blocks(budget_law, model_law, base, figure_dir, base_t)
    page.blocks += _transfer_blocks(ladder.rungs, base, thresholds)
    page.blocks += _accuracy_blocks(ladder.rungs, thresholds, figure_dir)
    page.blocks += _extreme_blocks(ladder.rungs, figure_dir)
    page.blocks += _model_blocks(model_t, model_law, figure_dir)
    page.blocks += _cost_blocks(base)
    page.blocks += _e4_blocks(ladder)
    return page


def _provenance(ladder: Ladder) -> list[str]:
    points = [p for r in ladder.rungs for p in r.points]
    peaks = [p.fp32_gflops for p in points if p.fp32_gflops]
    lines = [f"{len(points)} finished cells in {len(ladder.rungs)} rungs, from "
             + ", ".join(sorted({s for r in ladder.rungs for s in r.sources})) + " (every number below is read from "
             "their results.sqlite)."]
    if peaks:
        lines.append(f"fp32 matmul peak measured per thread by the cells that recorded it: {min(peaks):.1f}-"
                     f"{max(peaks):.1f} GFLOP/s ({len(peaks)} of {len(points)} cells): cell times are comparable "
                     "across machines only in units of that peak.")
    return lines


def _unfinished(ladder: Ladder) -> list[str]:
    lines = []
    for section in ("e1", "e4"):
        for relative in ladder.manifest.get(section, []):
            path = ladder.directory / relative
            if not (path / DATABASE).is_file():
                lines.append(f"{relative}: not started yet.")
                continue
            with ResultStore(path) as store:
                counts = store.counts()
            left = counts["pending"] + counts["running"]
            if left or counts["failed"]:
                lines.append(f"{relative}: {counts['done']} cells done, {left} not run yet, {counts['failed']} failed: "
                             "this rung is incomplete; the commands above resume it.")
    return lines


def _cell_seconds(rung: Rung) -> float:
    return float(sum(p.train_s or 0 for p in rung.points))


def _law_blocks(budget_law, model_law, base: list[Rung], figure_dir: Path, base_t: list[Threshold]) -> list:
    low_paper, high_paper = reference("e1")["transition"]
    blocks = [Text("The law and the paper's scale", "h2")]
    if budget_law is None:
        return blocks + [Text("No law yet: I* is estimable at fewer than two budgets of the base model.")]
    b_low, b_high = budget_law.slope_interval()
    blocks.append(Text(
        f"Budget ladder ({base[0].recipe.model}, {len(budget_law.thresholds)} rungs with an I*): "
        f"I* ∝ budget^{budget_law.slope:.2f} (95 % interval {b_low:.2f} to {b_high:.2f}); S* ∝ budget^"
        f"{1 - budget_law.slope:.2f}. Which governs the threshold here: {what_governs(budget_law)}."))
    same_model = predict(budget_law, None, PAPER_BUDGET, base[0].recipe.params, base[0].recipe.params)
    lines = [f"Extrapolated to the paper's {PAPER_BUDGET:,} examples with the same {base[0].recipe.model} model: "
             f"I* = {same_model.instructions:,.0f} [{same_model.low:,.0f}, {same_model.high:,.0f}]"]
    paper_params = non_embedding_params(*PAPER_MODEL)
    paper = None
    if model_law is not None:
        paper = predict(budget_law, model_law, PAPER_BUDGET, paper_params, base[0].recipe.params)
        lines.append(f"and with the paper's {PAPER_MODEL[0]}x{PAPER_MODEL[1]} model (through the model ladder's "
                     f"slope): I* = {paper.instructions:,.0f} [{paper.low:,.0f}, {paper.high:,.0f}]")
    verdicts = []
    for name, prediction in (("same model", same_model), ("paper's model", paper)):
        if prediction is None:
            continue
        overlap = prediction.low <= high_paper and prediction.high >= low_paper
        verdicts.append(f"{name}: {'overlaps' if overlap else 'misses'} the paper's band of {low_paper:,}-{high_paper:,}")
    blocks.append(Text("; ".join(lines) + ". Beside the paper's band: " + "; ".join(verdicts) + ". " +
                       "Read it as an extrapolation, not as a prediction of the paper's runs: " +
                       "; ".join(dict.fromkeys(same_model.extrapolated + (paper.extrapolated if paper else []))) +
                       "; and the recipe differs from the paper's (11 epochs, not 50; |x| = |y| = 2 over 12 letters; "
                       "the paper's string lengths are not given)."))
    _law_figures(budget_law, paper, base, base_t, figure_dir)
    blocks += [Figure("threshold-vs-budget.png", "I* against budget: the ladder's rungs with their bootstrap intervals, the "
                      "fitted power law with its 95 % band carried to 10^6 examples, and the paper's band."),
               Figure("examples-per-instruction-vs-budget.png", "S* = budget / I* against budget: flat if S governs "
                      "the threshold, rising as the budget if I does.")]
    return blocks


def _transfer_blocks(rungs: list[Rung], base: list[Rung], unseen: dict) -> list:
    """The same thresholds and budget law on transfer (unseen / seen-rule accuracy per cell, law.MEASURES)."""
    transfer = thresholds_by_rung(rungs, "transfer")
    blocks = [Text("Normalised by the seen-rule control: the transfer threshold", "h2"), Text(
        "With the epochs fixed, a smaller budget is also a shorter training, and the seen-rule control (the tables "
        "of accuracy against I below) shows that the short ones do not learn even their training rules once those "
        "are many. Unseen-rule accuracy then mixes how much was learned with how far it carries to new rules. "
        f"Transfer, a cell's unseen-rule accuracy as a share of its seen-rule accuracy (capped at 1), on the cells "
        f"that learned their own rules (seen-rule accuracy >= {LEARNED}), normalises by the first: its threshold is "
        "the I at which unseen-rule accuracy reaches half the seen-rule accuracy. It does not hold the training "
        "length fixed (the steps still grow with the budget). Same fit, same bootstrap.")]
    blocks.append(Table(
        ["budget", "model", "I* on transfer [95 %]", "S* on transfer", "I* on unseen-rule accuracy [95 %]"],
        [[f"{r.recipe.budget:,}", r.recipe.model, _interval(transfer[id(r)]),
          f"{transfer[id(r)].examples_per_instruction:,.0f}" if transfer[id(r)].estimable else "–",
          _interval(unseen[id(r)])] for r in rungs]))
    law = fit_power_law([transfer[id(r)] for r in base], "budget")
    if law is None:
        return blocks + [Text("No transfer law yet: its I* is estimable at fewer than two budgets of the base model.")]
    low, high = law.slope_interval()
    blocks.append(Text(
        f"Budget ladder on transfer ({base[0].recipe.model}, {len(law.thresholds)} rungs with an I*): I* ∝ "
        f"budget^{law.slope:.2f} (95 % interval {low:.2f} to {high:.2f}). Which governs it: {what_governs(law)}."))
    return blocks


def _law_figures(budget_law, paper, base: list[Rung], base_t: list[Threshold], figure_dir: Path) -> None:
    """I* against budget (rungs, fitted law and band carried to 10^6, the paper's band) and S* against budget."""
    low_paper, high_paper = reference("e1")["transition"]
    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(7, 4.2))
    budgets = np.array([t.rung.recipe.budget for t in budget_law.thresholds], dtype=float)
    values = np.array([t.value for t in budget_law.thresholds])
    lows, highs = np.array([t.interval() for t in budget_law.thresholds]).T
    ax.errorbar(budgets, values, yerr=[values - lows, highs - values], marker="o", capsize=3, linestyle="none",
                label=f"I* per rung ({base[0].recipe.model})")
    xs = np.geomspace(budgets.min() / 1.5, PAPER_BUDGET * 1.5, 50)
    line, band = zip(*(budget_law.log_prediction(x) for x in xs))
    band = np.array(band)
    ax.plot(xs, 10 ** np.array(line), color="C0", label=f"fit: I* ∝ budget^{budget_law.slope:.2f}")
    ax.fill_between(xs, 10 ** np.nanpercentile(band, 2.5, axis=1), 10 ** np.nanpercentile(band, 97.5, axis=1),
                    color="C0", alpha=0.15, label="95 % band (bootstrap)")
    ax.fill_between([PAPER_BUDGET / 1.3, PAPER_BUDGET * 1.3], low_paper, high_paper, color="0.6", alpha=0.5,
                    label=f"paper: {low_paper:,}-{high_paper:,} at 10^6")
    if paper is not None:
        ax.errorbar([PAPER_BUDGET], [paper.instructions], yerr=[[paper.instructions - paper.low], [paper.high - paper.instructions]],
                    marker="D", color="C3", capsize=3, label=f"extrapolated, {PAPER_MODEL[0]}x{PAPER_MODEL[1]} model")
    for t in base_t:
        if not t.estimable:  # a rung with no threshold is evidence too: mark where it stands
            ax.axvline(t.rung.recipe.budget, color="0.5", linestyle=":")
            ax.annotate(f"{t.rung.label}: no I*", (t.rung.recipe.budget, 0.5), xycoords=("data", "axes fraction"),
                        rotation=90, fontsize=7, color="0.4", xytext=(3, 0), textcoords="offset points")
    ax.set_xscale("log"), ax.set_yscale("log")
    ax.set_xlabel("training examples (budget)"), ax.set_ylabel("threshold I* (instructions)")
    ax.legend(fontsize=7, loc="lower left")
    save_figure(fig, figure_dir / "threshold-vs-budget.png")
    fig, ax = pyplot.subplots(figsize=(7, 4.2))
    ax.errorbar(budgets, budgets / values, yerr=[budgets / values - budgets / highs, budgets / lows - budgets / values],
                marker="o", capsize=3, linestyle="none", label="S* = budget / I* per rung")
    ax.plot(xs, xs / 10 ** np.array(line), color="C0", label=f"fit: S* ∝ budget^{1 - budget_law.slope:.2f}")
    ax.set_xscale("log"), ax.set_yscale("log")
    ax.set_xlabel("training examples (budget)"), ax.set_ylabel("examples per instruction at the threshold, S*")
    ax.legend(fontsize=8)
    save_figure(fig, figure_dir / "examples-per-instruction-vs-budget.png")


def _by_count(rung: Rung) -> dict[int, list]:
    out = defaultdict(list)
    for p in rung.points:
        out[p.instructions].append(p)
    return dict(sorted(out.items()))


def _accuracy_blocks(rungs: list[Rung], thresholds: dict, figure_dir: Path) -> list:
    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(7.5, 4.5))
    for k, rung in enumerate(rungs):
        counts = _by_count(rung)
        means = [np.mean([p.unseen for p in ps]) for ps in counts.values()]
        style = "-" if rung.recipe.n_embd == rungs[0].recipe.n_embd and rung.recipe.n_layer == rungs[0].recipe.n_layer else "--"
        ax.plot(list(counts), means, marker="o", linestyle=style, color=f"C{k % 10}", label=rung.label)
    low, high = reference("e1")["transition"]
    ax.axvspan(low, high, color="0.9", label="paper's transition (10^6 examples)")
    accuracy_axes(ax, "number of distinct training instructions I", "unseen-rule exact match")
    ax.legend(fontsize=7, loc="upper left")
    save_figure(fig, figure_dir / "accuracy-vs-instructions.png")
    rows = []
    for rung in rungs:
        for count, ps in _by_count(rung).items():
            mean, sd = mean_sd([p.unseen for p in ps])
            seen, seen_sd = mean_sd([p.seen for p in ps])
            rows.append([rung.label, f"{count:,}", f"{rung.recipe.budget / count:,.1f}", fmt(mean, sd), fmt(seen, seen_sd), len(ps)])
    return [Text("Accuracy against I, per rung", "h2"),
            Figure("accuracy-vs-instructions.png", "Unseen-rule accuracy (mean over seeds) against I, one line per rung "
                   "(dashed: the model ladder)."),
            Table(["rung", "I", "examples per instruction", "unseen-rule accuracy", "seen-rule accuracy (control)", "seeds"], rows)]


def _extreme_blocks(rungs: list[Rung], figure_dir: Path) -> list:
    rows, xs, ys = [], [], []
    for rung in rungs:
        for count, ps in _by_count(rung).items():
            per = rung.recipe.budget / count
            if count != max(_by_count(rung)) and per >= MIN_EXAMPLES_PER_INSTRUCTION:
                continue
            mean, sd = mean_sd([p.unseen for p in ps])
            rows.append([rung.label, f"{count:,}", f"{per:,.1f}", fmt(mean, sd), len(ps)])
            xs.append(per), ys.append(mean)
    if not rows:
        return []
    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(6, 4))
    ax.scatter(xs, ys)
    for x, y, row in zip(xs, ys, rows):
        ax.annotate(f"{row[0]}, I={row[1]}", (x, y), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    accuracy_axes(ax, "examples per instruction", "unseen-rule exact match")
    save_figure(fig, figure_dir / "few-examples-per-instruction.png")
    return [Text("Many instructions, a handful of examples each", "h2"),
            Text("The paper: models trained on 1,000 instructions or more generalize even with a handful of examples "
                 "each. The largest I of every rung (one example per instruction where the rule space allows, else "
                 "15,000 rules, about the most it holds) and the points under "
                 f"{MIN_EXAMPLES_PER_INSTRUCTION} examples per instruction:"),
            Figure("few-examples-per-instruction.png", "Unseen-rule accuracy at the largest I of each rung, against the "
                   "examples per instruction that leaves."),
            Table(["rung", "I", "examples per instruction", "unseen-rule accuracy", "seeds"], rows)]


def _model_blocks(model_t: list[Threshold], model_law, figure_dir: Path) -> list:
    if len(model_t) < 2:
        return []
    blocks = [Text("Model ladder", "h2")]
    budget = model_t[0].rung.recipe.budget
    if model_law is None:
        return blocks + [Text(f"At {budget:,} examples I* is estimable for fewer than two model sizes: "
                              + "; ".join(f"{t.rung.recipe.model}: {_interval(t)}" for t in model_t) + ".")]
    low, high = model_law.slope_interval()
    blocks.append(Text(f"At {budget:,} examples: I* ∝ params^{model_law.slope:.2f} (95 % interval {low:.2f} to "
                       f"{high:.2f}) over {', '.join(t.rung.recipe.model for t in model_law.thresholds)}: "
                       + ("larger models need fewer instructions" if high < 0 else
                          "larger models need more instructions" if low > 0 else
                          "model size moves the threshold less than the interval can resolve") + "."))
    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(6, 4))
    params = [t.rung.recipe.params for t in model_law.thresholds]
    values = np.array([t.value for t in model_law.thresholds])
    lows, highs = np.array([t.interval() for t in model_law.thresholds]).T
    ax.errorbar(params, values, yerr=[values - lows, highs - values], marker="o", capsize=3, linestyle="none")
    for t in model_law.thresholds:
        ax.annotate(t.rung.recipe.model, (t.rung.recipe.params, t.value), fontsize=7, xytext=(4, 4), textcoords="offset points")
    ax.set_xscale("log"), ax.set_yscale("log")
    ax.set_xlabel("non-embedding parameters"), ax.set_ylabel("threshold I*")
    save_figure(fig, figure_dir / "threshold-vs-model.png")
    return blocks + [Figure("threshold-vs-model.png", f"I* against model size at {budget:,} examples.")]


def _cost_blocks(base: list[Rung]) -> list:
    """Training time per cell against the budget. Cells share a machine with other work, and their throughput
    varies severalfold within a rung: the fastest cell of each rung (the least contended) gives the growth,
    the median is shown beside it, and the throughput range says how much the load moved."""
    rungs = [r for r in base if r.points and _cell_seconds(r) > 0]
    if len(rungs) < 2:
        return []
    budgets = np.log10([r.recipe.budget for r in rungs])
    times = [sorted(p.train_s for p in r.points if p.train_s) for r in rungs]
    fastest = float(np.polyfit(budgets, np.log10([t[0] for t in times]), 1)[0])
    median = float(np.polyfit(budgets, np.log10([float(np.median(t)) for t in times]), 1)[0])
    verdict = ("about linear" if 0.8 <= fastest <= 1.2 else "worse than linear" if fastest > 1.2 else
               "better than linear (fixed costs per cell weigh on the small rungs)")
    rows = []
    for rung, cell_times in zip(rungs, times):
        rates = [p.tokens_per_s for p in rung.points if p.tokens_per_s]
        rows.append([f"{rung.recipe.budget:,}", _minutes(cell_times[0]), _minutes(float(np.median(cell_times))),
                     f"{1000 * cell_times[0] / rung.recipe.budget:.1f}",
                     f"{min(rates):,.0f}-{max(rates):,.0f}" if rates else "–"])
    return [Text("Cost", "h2"),
            Text(f"Training time per cell grows as budget^{fastest:.2f} over the budget ladder, fitted on each rung's "
                 f"fastest cell: {verdict}. On the median cell: budget^{median:.2f}. One thread per cell, two cells "
                 "at once on 2 cores, on a machine shared with other work: the throughput of cells of one rung varies "
                 "severalfold with that load (last column), so read single times against it and the fp32 peak above."),
            Table(["budget", "fastest cell", "median cell", "ms per example (fastest)", "tokens/s per cell"], rows)]


def _e4_blocks(ladder: Ladder) -> list:
    rows = []
    for relative in ladder.manifest.get("e4", []):
        path = ladder.directory / relative
        if not (path / DATABASE).is_file():
            continue
        with ResultStore(path) as store:
            done = store.rows("done")
        groups = defaultdict(list)
        for row in done:
            groups[(row["config"]["dataset"]["budget"], row["point"]["dataset.num_train_rules"],
                    row["point"].get("constraint", "?"))].append(row)
        for (budget, count, label), members in sorted(groups.items()):
            mean, sd = mean_sd([m["result"]["unseen"]["accuracy"] for m in members])
            seen, seen_sd = mean_sd([m["result"]["seen"]["accuracy"] for m in members])
            rows.append([f"{budget:,}", f"{count:,}", label, fmt(mean, sd), fmt(seen, seen_sd), len(members)])
    if not rows:
        return []
    return [Text("E4 at the top rung", "h2"),
            Text("Constrained rule families (k = 2 over 4-letter patterns), their mixture and the free control, tested "
                 "on free rules; the miniature's cells beside the top rung's. The paper: the three families mixed "
                 "generalize; the miniature: the mixture stays at 0.005."),
            Table(["budget", "I", "training rules", "free-rule (unseen) accuracy", "seen-rule accuracy", "seeds"], rows)]

