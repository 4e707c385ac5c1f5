"""`divlab plan`: where will the threshold be for this budget and model, and which grid of I brackets it?

The answer rests on a committed scale ladder (ladder.py) and its fitted law (law.py). It is printed with its
interval and the evidence under it, marked as an extrapolation wherever it leaves the measured ranges, and
refused where the ladder lacks the data it needs. Its purpose: design an expensive sweep around the predicted
threshold instead of a blind log grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from divlab.errors import UsageError
from divlab.scaling.law import PowerLaw, Prediction, Threshold, fit_power_law, predict, thresholds_by_rung, what_governs
from divlab.scaling.ladder import Ladder, non_embedding_params, parse_model, read_ladder


class PlanError(UsageError):
    """The ladder cannot support the prediction asked for."""


@dataclass
class Plan:
    budget: int
    model: str
    params: int
    prediction: Prediction
    grid: list[int]
    budget_law: PowerLaw
    model_law: PowerLaw | None
    evidence: list[Threshold]
    recipe: str
    transfer: Prediction | None = None  # the same law on transfer (law.MEASURES)
    transfer_law: PowerLaw | None = None
    transfer_missing: str = ""  # why there is no transfer prediction
    # id(rung) -> its transfer Threshold, fitted once (each is a 400-replicate bootstrap)
    transfer_evidence: dict | None = None


def suggested_grid(low: float, high: float, points: int = 7, ceiling: int | None = None) -> list[int]:
    """POINTS instruction counts, evenly spaced in log I from half the interval's low end to twice its high end
    (so the step's foot and shoulder are both on the grid), rounded to two significant digits."""
    if points < 2:
        raise PlanError(f"--points {points}: a grid needs at least 2 points")
    start, stop = math.log10(max(1.0, low / 2)), math.log10(max(2.0, high * 2))
    grid = []
    for k in range(points):
        value = 10 ** (start + (stop - start) * k / (points - 1))
        digits = max(0, int(math.floor(math.log10(value))) - 1)
        rounded = int(round(value / 10**digits) * 10**digits)
        if ceiling:
            rounded = min(rounded, ceiling)
        grid.append(max(1, rounded))
    return sorted(set(grid))


def transfer_prediction(ladder: Ladder, fitted: dict, budget: int,
                        params: int) -> tuple[Prediction | None, PowerLaw | None, str]:
    """(prediction, budget law, why not) on transfer. With the epochs fixed, a short training leaves even the
    training rules unlearned, which raises the raw threshold of small budgets; transfer normalises by the
    seen-rule control, and where a run learns its training rules (as the paper's do) the two coincide."""
    base = ladder.base_rungs()
    budget_law = fit_power_law([fitted[id(r)] for r in base], "budget")
    if budget_law is None:
        return None, None, "its I* is estimable at fewer than two budgets"
    model_law = None
    if params != base[0].recipe.params:
        model_law = fit_power_law([fitted[id(r)] for r in ladder.model_rungs()], "params")
        if model_law is None:
            return None, budget_law, "no model ladder with an estimable transfer I* at two sizes or more"
    return predict(budget_law, model_law, budget, params, base[0].recipe.params), budget_law, ""


def make_plan(ladder_dir, budget: int, model: str | None = None, points: int = 7) -> Plan:
    if not isinstance(budget, int) or budget < 1:
        raise PlanError(f"--budget {budget}: must be a positive number of training examples")
    ladder = read_ladder(ladder_dir)
    return plan_from(ladder, budget, model, points)


def plan_from(ladder: Ladder, budget: int, model: str | None, points: int = 7) -> Plan:
    base = ladder.base_rungs()
    if not base:
        raise PlanError(f"{ladder.directory}: the ladder has no finished cells yet; run its sweeps first "
                        f"({'; '.join(ladder.manifest.get('commands', [])) or 'see docs/scaling.md'})")
    fitted = thresholds_by_rung(ladder.rungs)
    base_thresholds = [fitted[id(r)] for r in base]
    budget_law = fit_power_law(base_thresholds, "budget")
    if budget_law is None:
        have = ", ".join(f"{t.rung.label}: {t.reason or 'estimable'}" for t in base_thresholds)
        raise PlanError(f"{ladder.directory}: a prediction needs I* at two budgets or more of model "
                        f"{base[0].recipe.model}; the ladder has {have}")
    base_recipe = base[0].recipe
    layers, width = parse_model(model) if model else (base_recipe.n_layer, base_recipe.n_embd)
    params = non_embedding_params(layers, width)
    model_law = None
    evidence = list(base_thresholds)
    if params != base_recipe.params:
        model_thresholds = [fitted[id(r)] for r in ladder.model_rungs()]
        model_law = fit_power_law(model_thresholds, "params")
        if model_law is None:
            raise PlanError(f"--model {layers}x{width}: the ladder measured I* for one model size only "
                            f"({base_recipe.model}); predicting another size needs a model ladder (two sizes or more "
                            "with an estimable I* at one budget)")
        evidence += [t for t in model_thresholds if t.rung not in base]
    prediction = predict(budget_law, model_law, budget, params, base_recipe.params)
    on_transfer = thresholds_by_rung(ladder.rungs, "transfer")
    transfer, transfer_law, transfer_missing = transfer_prediction(ladder, on_transfer, budget, params)
    low, high = prediction.low, prediction.high
    if transfer is not None:  # bracket both: which of them the run will follow depends on how fully it trains
        low, high = min(low, transfer.low), max(high, transfer.high)
    grid = suggested_grid(low, high, points, ceiling=budget)
    recipe = (f"{base_recipe.task}; {base_recipe.epochs:g} epochs, batch {base_recipe.batch_size}, lr {base_recipe.lr:g}")
    return Plan(budget, f"{layers}x{width}", params, prediction, grid, budget_law, model_law, evidence, recipe, transfer,
                transfer_law, transfer_missing, on_transfer)


def format_plan(plan: Plan) -> str:
    p = plan.prediction
    low_b, high_b = plan.budget_law.slope_interval()
    lines = [
        f"Predicted threshold for {plan.budget:,} examples, model {plan.model} ({plan.params:,} non-embedding parameters):",
        f"  I* = {p.instructions:,.0f}  (95 % interval {p.low:,.0f} - {p.high:,.0f}); "
        f"S* = {plan.budget / p.instructions:,.0f} examples per instruction",
        "  " + ("EXTRAPOLATION: " + "; ".join(p.extrapolated) if p.extrapolated
                else "inside the measured range (interpolation)"),
    ]
    if plan.transfer is not None:
        t = plan.transfer
        low_t, high_t = plan.transfer_law.slope_interval()
        lines += [f"  on transfer (unseen / seen-rule accuracy): I* = {t.instructions:,.0f}  (95 % interval "
                  f"{t.low:,.0f} - {t.high:,.0f}); law I* ∝ budget^{plan.transfer_law.slope:.2f} "
                  f"({low_t:.2f} - {high_t:.2f})",
                  "    " + ("EXTRAPOLATION: " + "; ".join(t.extrapolated) if t.extrapolated
                            else "inside the measured range (interpolation)")]
    else:
        lines.append(f"  on transfer (unseen / seen-rule accuracy): no prediction ({plan.transfer_missing})")
    lines += [
        "Suggested grid of I (brackets " + ("both intervals, from half the lower end to twice the higher"
                                            if plan.transfer else "the interval, from half its low end to twice its high end") + "):",
        "  " + ", ".join(f"{i:,}" for i in plan.grid),
        f"Law: I* ∝ budget^{plan.budget_law.slope:.2f} (95 % interval {low_b:.2f} - {high_b:.2f}): {what_governs(plan.budget_law)}.",
    ]
    if plan.model_law:
        low_m, high_m = plan.model_law.slope_interval()
        lines.append(f"     I* ∝ params^{plan.model_law.slope:.2f} (95 % interval {low_m:.2f} - {high_m:.2f}) at "
                     f"{plan.model_law.thresholds[0].rung.recipe.budget:,} examples.")
    lines.append("Evidence (finished cells of the committed ladder):")
    for t in plan.evidence:
        r = t.rung
        fit = (f"I* = {t.value:,.0f} [{t.interval()[0]:,.0f}, {t.interval()[1]:,.0f}]" if t.estimable
               else f"no I* ({t.reason})")
        if plan.transfer_law is not None:
            on_transfer = plan.transfer_evidence[id(r)]
            fit += (f"; on transfer {on_transfer.value:,.0f} [{on_transfer.interval()[0]:,.0f}, "
                    f"{on_transfer.interval()[1]:,.0f}]" if on_transfer.estimable else "; no I* on transfer")
        lines.append(f"  {r.label}: {len(r.points)} cells, seeds {','.join(map(str, r.seeds))}, "
                     f"{len(r.seeds_per_count())} instruction counts; {fit}")
    lines.append(f"Valid for the ladder's recipe only: {plan.recipe}.")
    return "\n".join(lines)
