"""The threshold's scaling law: I* per rung with a bootstrap over seeds, then log I* as a line in log budget
(the budget ladder) and in log model size (the model ladder), with intervals carried from the rungs' bootstraps.

Reading the budget slope b (I* ∝ budget^b):
- b = 0: the number of distinct instructions I governs the threshold, whatever each gets;
- b = 1: the examples per instruction S = budget / I govern it (S* is constant);
- in between, both matter. The 95 % interval says which of these the data can tell apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from divlab.report.threshold import CENTERS, WIDTHS, fit_logistic
from divlab.scaling.ladder import Rung

# What a rung's threshold is fitted on, per cell. "unseen": unseen-rule accuracy, the gallery's E1 measure.
# "transfer": unseen-rule accuracy as a share of the seen-rule control (capped at 1), on the cells that learned
# their own rules (seen-rule accuracy >= LEARNED; the others have no transfer to speak of, and a ratio over a
# near-zero control is noise). With the epochs fixed, a small budget is also a short training, after which even
# the training rules are not learned (the 5k rung's control falls to 0.2): unseen accuracy then mixes how much
# was learned with how far it carries, and transfer normalises by the first. It does not control training
# length itself: the number of steps still grows with the budget.
LEARNED = 0.5
MEASURES = {
    "unseen": ("unseen-rule accuracy", lambda point: point.unseen),
    "transfer": (f"transfer (unseen / seen-rule accuracy, on cells with seen-rule accuracy >= {LEARNED})",
                 lambda point: min(1.0, point.unseen / point.seen) if point.seen >= LEARNED else None),
}

# Cells with fewer examples per instruction than this are the one-example extremes: shown apart, not fitted,
# so that a drop at very few examples per rule cannot pull the fitted step.
MIN_EXAMPLES_PER_INSTRUCTION = 4
REPLICATES = 400


@dataclass
class Threshold:
    """I* of one rung: point estimate and bootstrap replicates, all as log10 I."""

    rung: Rung
    log_center: float | None  # None: accuracy never crosses 0.5 on the fitted cells
    replicates: np.ndarray  # log10 I* of each bootstrap replicate that crossed 0.5 (in replicate order, NaN if not)
    fitted_cells: int
    reason: str = ""

    @property
    def estimable(self) -> bool:
        return self.log_center is not None

    @property
    def value(self) -> float:
        return 10 ** self.log_center

    def interval(self) -> tuple[float, float]:
        good = self.replicates[np.isfinite(self.replicates)]
        low, high = np.percentile(good, [2.5, 97.5]) if len(good) else (self.log_center, self.log_center)
        return 10 ** float(low), 10 ** float(high)

    @property
    def examples_per_instruction(self) -> float:
        """S* = budget / I*."""
        return self.rung.recipe.budget / self.value


def fitted_points(rung: Rung):
    return [p for p in rung.points if rung.recipe.budget / p.instructions >= MIN_EXAMPLES_PER_INSTRUCTION]


def rung_threshold(rung: Rung, replicates: int = REPLICATES, seed: int = 0, measure: str = "unseen") -> Threshold:
    """The logistic fit of MEASURE (unseen-rule accuracy by default) against log10 I (report/threshold.py's, as
    the gallery's E1 page), on cells with >= MIN_EXAMPLES_PER_INSTRUCTION examples per instruction; the
    bootstrap resamples seeds within each instruction count, so every replicate keeps the grid."""
    name, value_of = MEASURES[measure]
    points = [p for p in fitted_points(rung) if value_of(p) is not None]  # transfer: the cells that learned
    x = np.log10([p.instructions for p in points]) if points else np.zeros(0)
    y = np.array([value_of(p) for p in points])
    if len({p.instructions for p in points}) < 3:
        where = "" if measure == "unseen" else f" with seen-rule accuracy >= {LEARNED}"
        return Threshold(rung, None, np.full(replicates, np.nan), len(points), f"fewer than 3 instruction counts{where}")
    if not (y.min() < 0.5 < y.max()):
        reason = (f"{name} stays below 0.5 at every I" if y.max() <= 0.5
                  else f"{name} is above 0.5 already at the smallest I")
        return Threshold(rung, None, np.full(replicates, np.nan), len(points), reason)
    center, _ = fit_logistic(x, y)
    # Each rung draws its own resamples: with one seed for all, replicate k of every rung would pick the same
    # seed positions, tying rungs together that share no cells. The key is the recipe, so a page is stable.
    key = [seed, rung.recipe.budget, rung.recipe.n_layer, rung.recipe.n_embd]
    return Threshold(rung, center, _bootstrap_centers(x, y, replicates, key), len(points))


def thresholds_by_rung(rungs, measure: str = "unseen") -> dict[int, Threshold]:
    """id(rung) -> its Threshold on MEASURE, each rung fitted once (a rung can sit in both the budget and the
    model ladder, and each fit is a 400-replicate bootstrap)."""
    return {id(rung): rung_threshold(rung, measure=measure) for rung in rungs}


def _bootstrap_centers(x: np.ndarray, y: np.ndarray, replicates: int, seed: list[int]) -> np.ndarray:
    """log10 I* of each replicate (NaN where the resampled cells never cross 0.5). Resampling within each
    instruction count keeps the counts n_j, so a replicate's squared error differs from
    sum_j n_j (p_j - mean_j)^2 by a constant: every replicate is fitted at once from its per-count means, on
    the grid of fit_logistic (same centers and widths), instead of one grid search per replicate."""
    levels = np.unique(x)
    rng = np.random.default_rng(seed)
    means, lows, highs = [], [], []
    for level in levels:
        values = y[x == level]
        drawn = values[rng.integers(0, len(values), size=(replicates, len(values)))]
        means.append(drawn.mean(axis=1)), lows.append(drawn.min(axis=1)), highs.append(drawn.max(axis=1))
    means, crossing = np.array(means).T, (np.min(lows, axis=0) < 0.5) & (np.max(highs, axis=0) > 0.5)
    counts = np.array([(x == level).sum() for level in levels], dtype=float)
    centers = np.linspace(x.min() - 0.5, x.max() + 0.5, CENTERS)
    z = (levels[None, None, :] - centers[:, None, None]) / WIDTHS[None, :, None]
    predicted = (1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))).reshape(-1, len(levels))  # (centers*widths, levels)
    # sum_j n_j (p - m_j)^2 = sum_j n_j p^2 - 2 sum_j n_j p m_j + (same for every grid point)
    errors = (predicted**2 @ counts)[:, None] - 2 * (predicted * counts) @ means.T  # (grid, replicates)
    best = np.argmin(errors, axis=0) // len(WIDTHS)
    return np.where(crossing, centers[best], np.nan)


@dataclass
class PowerLaw:
    """log10 I* = intercept + slope · (log10 v − log10 ref), fitted on the point estimates; slopes[k] and
    intercepts[k] refit on bootstrap replicate k of every rung, NaN where some rung's replicate k never crossed
    0.5: index k stays replicate k, so two laws that share a rung can be combined replicate by replicate."""

    variable: str  # "budget" or "params"
    ref: float
    slope: float
    intercept: float
    slopes: np.ndarray
    intercepts: np.ndarray
    span: tuple[float, float]  # the measured range of the variable
    thresholds: list[Threshold]

    def slope_interval(self) -> tuple[float, float]:
        if not np.isfinite(self.slopes).any():  # no replicate crossed 0.5 on every rung: the point estimate alone
            return (self.slope, self.slope)
        return interval_of(self.slopes)

    def log_prediction(self, value: float) -> tuple[float, np.ndarray]:
        dx = np.log10(value) - np.log10(self.ref)
        return self.intercept + self.slope * dx, self.intercepts + self.slopes * dx


def fit_power_law(thresholds: list[Threshold], variable: str) -> PowerLaw | None:
    """The line through the estimable rungs' log10 I* against log10 of budget or params; None with fewer than 2."""
    usable = [t for t in thresholds if t.estimable]
    values = np.array([_variable(t, variable) for t in usable], dtype=float)
    if len(np.unique(values)) < 2:
        return None
    ref = float(10 ** np.mean(np.log10(values)))
    x = np.log10(values) - np.log10(ref)
    slope, intercept = np.polyfit(x, [t.log_center for t in usable], 1)
    stacked = np.array([t.replicates for t in usable])  # rungs x replicates
    fits = np.full((stacked.shape[1], 2), np.nan)
    ok = np.all(np.isfinite(stacked), axis=0)
    if ok.any():  # one least-squares solve for every complete replicate
        fits[ok] = np.polyfit(x, stacked[:, ok], 1).T
    return PowerLaw(variable, ref, float(slope), float(intercept), fits[:, 0], fits[:, 1],
                    (float(values.min()), float(values.max())), usable)


def _variable(threshold: Threshold, variable: str) -> float:
    return threshold.rung.recipe.budget if variable == "budget" else threshold.rung.recipe.params


def what_governs(law: PowerLaw) -> str:
    """Which of I or S governs the threshold, as far as the slope's interval can tell."""
    low, high = law.slope_interval()
    has_zero, has_one = low <= 0 <= high, low <= 1 <= high
    if has_zero and not has_one:
        return "I governs: the threshold stays at the same number of instructions as the budget grows"
    if has_one and not has_zero:
        return "S governs: the threshold stays at the same number of examples per instruction as the budget grows"
    if has_zero and has_one:
        return "the ladder cannot tell I from S yet (the slope's interval holds both 0 and 1)"
    if high < 0:
        return "neither alone: I* falls as the budget grows (slope below 0)"
    if low > 1:
        return "neither alone: I* grows faster than the budget (slope above 1)"
    return f"neither alone: I* grows as budget^{law.slope:.2f}, so both the number of instructions and the examples per instruction matter"


def interval_of(samples: np.ndarray) -> tuple[float, float]:
    samples = samples[np.isfinite(samples)]
    if len(samples) == 0:
        return (float("nan"), float("nan"))
    low, high = np.percentile(samples, [2.5, 97.5])
    return float(low), float(high)


@dataclass
class Prediction:
    instructions: float
    low: float
    high: float
    extrapolated: list[str]  # why the prediction lies outside what was measured; empty inside it


def predict(budget_law: PowerLaw, model_law: PowerLaw | None, budget: float, params: float, base_params: float) -> Prediction:
    """I* at (budget, params): the budget law at the base model, moved by the model law's slope. The two are
    assumed separable (the model slope measured at one budget holds at every budget): one more reason to call
    any prediction outside the measured ranges an extrapolation."""
    log_point, log_samples = budget_law.log_prediction(budget)
    extrapolated = []
    low_b, high_b = budget_law.span
    if not low_b <= budget <= high_b:
        extrapolated.append(f"budget {budget:,.0f} is outside the measured {low_b:,.0f}-{high_b:,.0f} "
                            f"({max(budget / high_b, low_b / budget):.1f}x beyond)")
    if params != base_params:
        shift = np.log10(params) - np.log10(base_params)
        # Replicate k of both laws: they share the base model's rung at the model law's budget (same draws)
        log_point = log_point + model_law.slope * shift
        log_samples = log_samples + model_law.slopes * shift
        low_p, high_p = model_law.span
        if not low_p <= params <= high_p:
            extrapolated.append(f"model size {params:,.0f} non-embedding parameters is outside the measured "
                                f"{low_p:,.0f}-{high_p:,.0f} ({max(params / high_p, low_p / params):.1f}x beyond)")
        measured_at = model_law.thresholds[0].rung.recipe.budget
        if budget != measured_at:
            extrapolated.append(f"the model slope was measured at {measured_at:,} examples and is assumed to hold at "
                                f"{budget:,.0f}")
    low, high = interval_of(log_samples)
    if len(budget_law.thresholds) < 3:
        extrapolated.append(f"the budget law rests on {len(budget_law.thresholds)} rungs with an I*: a line through "
                            "two points fits them exactly and cannot test the law's form")
    measured = [p.instructions for t in budget_law.thresholds for p in t.rung.points]
    if not min(measured) <= 10 ** log_point <= max(measured):
        extrapolated.append(f"the predicted I* lies outside every instruction count the ladder trained on "
                            f"({min(measured):,}-{max(measured):,}): the law is carried where nothing was measured")
    return Prediction(10 ** float(log_point), 10 ** low, 10 ** high, extrapolated)
