"""The scale ladder's law and `divlab plan`, on synthetic ladders whose true threshold law is known, and the
committed ladder page regenerated from its databases."""

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from divlab.cli import main
from divlab.errors import UsageError
from divlab.experiments.base import Cell
from divlab.scaling.ladder import non_embedding_params, parse_model, read_ladder
from divlab.scaling.law import fit_power_law, rung_threshold, what_governs
from divlab.scaling.page import write_ladder_page
from divlab.scaling.plan import PlanError, format_plan, make_plan, suggested_grid
from divlab.sweep.store import ResultStore

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "docs" / "results" / "scaling"
BASE_PARAMS = non_embedding_params(2, 64)


def true_threshold(budget, params, b, c):
    return 150 * (budget / 40_000) ** b * (params / BASE_PARAMS) ** c


def write_rung(run_dir: Path, budget: int, layers: int, width: int, counts, seeds, b: float, c: float, rng,
               noise: float = 0.1) -> None:
    """A finished sweep whose unseen-rule accuracy is a logistic step at the true I*, plus seed noise."""
    run_dir.mkdir(parents=True)
    store = ResultStore(run_dir, create=True)
    star = true_threshold(budget, non_embedding_params(layers, width), b, c)
    cells = []
    for count in counts:
        for seed in seeds:
            config = {"dataset": {"alphabet": "abcdefghijkl", "x_len": [2, 2], "y_len": [2, 2], "z_len": [8, 8],
                                  "budget": budget, "num_train_rules": count},
                      "model": {"n_layer": layers, "n_embd": width, "n_head": 4},
                      "train": {"epochs": 11, "batch_size": 256, "lr": 0.006, "seed": seed}}
            cells.append(Cell({"dataset.num_train_rules": count}, seed, config))
    store.add_cells(cells)
    for cell in cells:
        count = cell.point["dataset.num_train_rules"]
        accuracy = 1 / (1 + np.exp(-(np.log10(count) - np.log10(star)) / 0.2)) + rng.normal(0, noise)
        store.mark_done(cell.cell_id, {"unseen": {"accuracy": float(np.clip(accuracy, 0, 1))}, "seen": {"accuracy": 0.99},
                                       "wall_s": budget / 1000.0})
    store.close()


def make_ladder(root: Path, b: float, c: float, models: bool = True, budgets=(5_000, 10_000, 20_000, 40_000, 80_000)) -> Path:
    rng = np.random.default_rng(7)
    dirs = []
    grid = [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
    for budget in budgets:
        name = f"b{budget // 1000}k"
        write_rung(root / name, budget, 2, 64, [i for i in grid if budget / i >= 4], range(3), b, c, rng)
        dirs.append(name)
    if models:
        for layers, width in ((2, 128), (4, 128)):
            name = f"m{layers}x{width}"
            write_rung(root / name, 20_000, layers, width, grid[:-2], range(2), b, c, rng)
            dirs.append(name)
    (root / "ladder.json").write_text(json.dumps({"description": "synthetic", "commands": ["make_ladder"], "e1": dirs}))
    return root


@pytest.fixture(scope="module")
def ladder(tmp_path_factory):
    return make_ladder(tmp_path_factory.mktemp("ladder"), b=0.5, c=-0.3)


def test_the_fitted_law_recovers_the_true_slopes(ladder):
    data = read_ladder(ladder)
    base = [rung_threshold(r) for r in data.base_rungs()]
    assert [t.rung.recipe.budget for t in base] == [5_000, 10_000, 20_000, 40_000, 80_000]
    for t in base:  # each rung's I* near the truth, inside its own interval's neighbourhood
        truth = true_threshold(t.rung.recipe.budget, BASE_PARAMS, 0.5, -0.3)
        assert t.value == pytest.approx(truth, rel=0.25)
        low, high = t.interval()
        assert low <= t.value <= high
    law = fit_power_law(base, "budget")
    assert law.slope == pytest.approx(0.5, abs=0.1)
    low, high = law.slope_interval()
    # three seeds make a percentile bootstrap a little narrow: the truth lies within 0.05 of the interval
    assert low - 0.05 < 0.5 < high + 0.05 and 0 < high - low < 0.4
    assert "neither alone" in what_governs(law)
    models = fit_power_law([rung_threshold(r) for r in data.model_rungs()], "params")
    assert [t.rung.recipe.model for t in models.thresholds] == ["2x64", "2x128", "4x128"]
    assert models.slope == pytest.approx(-0.3, abs=0.15)


def test_rungs_draw_their_own_bootstrap_and_laws_keep_replicates_aligned(tmp_path):
    """Two rungs with the very same cells but other recipes must not resample the same seed positions in the
    same replicate; and a law's replicate k stays replicate k, NaN included, so that the budget law and the
    model law (which share the base rung) are combined replicate by replicate."""
    from divlab.scaling.law import predict
    grid = [8, 16, 32, 64, 128, 256, 512, 1024]
    for name, width in (("a", 64), ("b", 128)):  # same generator state: identical accuracies, other models
        write_rung(tmp_path / name, 20_000, 2, width, grid, range(3), 0.0, 0.0, np.random.default_rng(3), noise=0.2)
    (tmp_path / "ladder.json").write_text(json.dumps({"description": "twins", "commands": [], "e1": ["a", "b"]}))
    first, second = (rung_threshold(r) for r in read_ladder(tmp_path).model_rungs())
    assert [p.unseen for p in first.rung.points] == [p.unseen for p in second.rung.points]
    assert not np.array_equal(first.replicates, second.replicates, equal_nan=True)
    # the same rung read twice draws the same replicates: pages and plans are stable
    assert np.array_equal(first.replicates, rung_threshold(first.rung).replicates, equal_nan=True)
    data = read_ladder(make_ladder(tmp_path / "ladder", b=0.5, c=-0.3))
    base = [rung_threshold(r) for r in data.base_rungs()]
    models = [rung_threshold(r) for r in data.model_rungs()]
    # the 20k 2x64 rung is in both laws, read twice with the same draws
    assert models[0].rung.recipe == base[2].rung.recipe
    assert np.array_equal(models[0].replicates, base[2].replicates, equal_nan=True)
    models[0] = base[2]
    base[1].replicates[:5] = np.nan  # 10k (budget law only) fails to cross in replicates 0-4,
    models[2].replicates[5:10] = np.nan  # 4x128 (model law only) in replicates 5-9
    budget_law, model_law = fit_power_law(base, "budget"), fit_power_law(models, "params")
    assert len(budget_law.slopes) == len(model_law.slopes) == len(base[0].replicates)
    assert np.isnan(budget_law.slopes[:5]).all() and np.isfinite(budget_law.slopes[5:]).all()
    assert np.isnan(model_law.slopes[5:10]).all() and np.isfinite(np.delete(model_law.slopes, range(5, 10))).all()
    params = non_embedding_params(4, 128)
    prediction = predict(budget_law, model_law, 20_000, params, BASE_PARAMS)
    _, log_samples = budget_law.log_prediction(20_000)
    shifted = log_samples + model_law.slopes * (np.log10(params) - np.log10(BASE_PARAMS))
    # pairing after each law dropped its own failures would shift one law's replicates against the other's
    assert np.isnan(shifted[:10]).all() and np.isfinite(shifted[10:]).all()
    assert (prediction.low, prediction.high) == pytest.approx(tuple(10 ** np.percentile(shifted[10:], [2.5, 97.5])))


@pytest.mark.parametrize("b, governs", [(0.0, "I governs"), (1.0, "S governs")])
def test_which_of_i_or_s_governs(tmp_path, b, governs):
    data = read_ladder(make_ladder(tmp_path, b=b, c=0.0, models=False, budgets=(10_000, 20_000, 40_000, 80_000)))
    law = fit_power_law([rung_threshold(r) for r in data.base_rungs()], "budget")
    assert what_governs(law).startswith(governs)


def _rung_with_a_control(root: Path, name: str, budget: int, seen: float, rng, layers: int = 2, width: int = 64,
                         floor: float = 0.0) -> str:
    """A finished rung whose seen-rule accuracy is `seen` at every I and whose unseen-rule accuracy rises from
    `floor` to `seen` in a logistic step at a fixed I = 300."""
    run_dir = root / name
    run_dir.mkdir()
    store = ResultStore(run_dir, create=True)
    grid = [16, 32, 64, 128, 256, 512, 1024, 2048]
    cells = [Cell({"dataset.num_train_rules": i}, s, {
        "dataset": {"alphabet": "abcdefghijkl", "x_len": [2, 2], "y_len": [2, 2], "z_len": [8, 8], "budget": budget,
                    "num_train_rules": i},
        "model": {"n_layer": layers, "n_embd": width, "n_head": 4},
        "train": {"epochs": 11, "batch_size": 256, "lr": 0.006, "seed": s}}) for i in grid if budget / i >= 4 for s in range(3)]
    store.add_cells(cells)
    for cell in cells:
        step = 1 / (1 + np.exp(-(np.log10(cell.point["dataset.num_train_rules"]) - np.log10(300)) / 0.15))
        seen_here = float(np.clip(seen + rng.normal(0, 0.02), 0.05, 1))
        unseen = floor + (seen_here - floor) * step + rng.normal(0, 0.02)
        store.mark_done(cell.cell_id, {"unseen": {"accuracy": float(np.clip(unseen, 0, 1))},
                                       "seen": {"accuracy": seen_here}, "wall_s": 1.0})
    store.close()
    return name


def test_transfer_separates_generalization_from_an_undertrained_control(tmp_path):
    """Short trainings learn little even of their training rules: seen-rule accuracy rises with the budget
    (0.3 at 5k to 0.95 at 80k) while unseen = seen x a logistic step at a fixed I* = 300. On unseen-rule
    accuracy the small rungs never cross 0.5 or cross late; on transfer every rung that learned its rules has
    its I* near 300 and the law says I governs; the 5k rung, below the control's floor, has none."""
    rng = np.random.default_rng(3)
    dirs = [_rung_with_a_control(tmp_path, f"b{budget // 1000}k", budget, seen, rng)
            for budget, seen in ((5_000, 0.3), (10_000, 0.55), (20_000, 0.75), (40_000, 0.9), (80_000, 0.95))]
    (tmp_path / "ladder.json").write_text(json.dumps({"description": "synthetic", "commands": [], "e1": dirs}))
    rungs = read_ladder(tmp_path).base_rungs()
    unseen = [rung_threshold(r) for r in rungs]
    transfer = [rung_threshold(r, measure="transfer") for r in rungs]
    assert not unseen[0].estimable and "unseen-rule accuracy stays below 0.5" in unseen[0].reason
    assert not transfer[0].estimable and "seen-rule accuracy >= 0.5" in transfer[0].reason  # nothing learned
    for t in transfer[1:]:
        assert t.estimable and 220 < t.value < 410, (t.rung.recipe.budget, t.value)
    law = fit_power_law(transfer, "budget")
    assert abs(law.slope) < 0.1 and what_governs(law).startswith("I governs")
    assert fit_power_law(unseen, "budget").slope < -0.1  # the undertrained rungs pull the raw threshold up
    page = write_ladder_page(tmp_path).read_text()
    assert "the transfer threshold" in page and "Which governs it: I governs" in page
    plan = make_plan(tmp_path, 160_000)  # beyond the ladder: raw and transfer predictions, a grid around both
    assert 200 < plan.transfer.instructions < 450 and plan.prediction.instructions < plan.transfer.instructions
    assert min(plan.grid) <= plan.prediction.low and max(plan.grid) >= plan.transfer.high
    text = format_plan(plan)
    assert "on transfer (unseen / seen-rule accuracy): I* = " in text and "budget 160,000 is outside" in text


def test_plan_says_why_it_has_no_transfer_prediction_for_another_model(tmp_path):
    """Two larger models whose raw threshold is estimable but whose transfer is above 0.5 at every I (unseen
    starts at 0.45 of a 0.8 control): the raw prediction for 4x128 stands, the transfer line says why not."""
    rng = np.random.default_rng(5)
    dirs = [_rung_with_a_control(tmp_path, f"b{budget // 1000}k", budget, 0.95, rng) for budget in (10_000, 20_000, 40_000)]
    dirs += [_rung_with_a_control(tmp_path, f"m{layers}x{width}", 20_000, 0.8, rng, layers, width, floor=0.45)
             for layers, width in ((2, 128), (4, 128))]
    (tmp_path / "ladder.json").write_text(json.dumps({"description": "synthetic", "commands": [], "e1": dirs}))
    plan = make_plan(tmp_path, 20_000, "4x128")
    assert plan.prediction.instructions > 0 and plan.transfer is None
    assert "on transfer (unseen / seen-rule accuracy): no prediction (no model ladder with an estimable transfer I*" \
        in format_plan(plan)


def test_plan_inside_the_ladder_interpolates_and_brackets_the_truth(ladder):
    plan = make_plan(ladder, 30_000)
    truth = true_threshold(30_000, BASE_PARAMS, 0.5, -0.3)
    # a percentile bootstrap over three seeds is a little narrow (see above): the truth within 5 % of the interval
    assert plan.prediction.low / 1.05 <= truth <= plan.prediction.high * 1.05
    assert plan.prediction.high / plan.prediction.low < 1.5
    assert plan.prediction.extrapolated == []
    assert plan.grid[0] <= plan.prediction.low and plan.grid[-1] >= plan.prediction.high
    text = format_plan(plan)
    assert "inside the measured range" in text and "EXTRAPOLATION" not in text
    assert "5k examples, 2x64: 24 cells, seeds 0,1,2" in text  # the evidence, rung by rung


def test_plan_at_the_papers_scale_is_marked_as_an_extrapolation(ladder):
    plan = make_plan(ladder, 1_000_000, "6x256")
    truth = true_threshold(1_000_000, non_embedding_params(6, 256), 0.5, -0.3)
    assert plan.prediction.instructions == pytest.approx(truth, rel=0.6)
    reasons = " ".join(plan.prediction.extrapolated)
    assert "budget 1,000,000 is outside the measured 5,000-80,000 (12.5x beyond)" in reasons
    assert "model size 4,718,592" in reasons and "measured at 20,000 examples" in reasons
    text = format_plan(plan)
    assert "EXTRAPOLATION" in text and "I* ∝ params^" in text and "m4x128" not in text


def test_plan_refuses_without_the_data_it_needs(tmp_path, ladder):
    no_models = make_ladder(tmp_path / "a", b=0.5, c=0.0, models=False)
    with pytest.raises(PlanError, match="--model 6x256: the ladder measured I\\* for one model size only"):
        make_plan(no_models, 1_000_000, "6x256")
    one_budget = make_ladder(tmp_path / "b", b=0.5, c=0.0, models=False, budgets=(40_000,))
    with pytest.raises(PlanError, match="two budgets or more"):
        make_plan(one_budget, 1_000_000)
    with pytest.raises(UsageError, match="no ladder.json"):
        make_plan(tmp_path, 1_000_000)
    with pytest.raises(UsageError, match="--model 6by256"):
        parse_model("6by256")
    with pytest.raises(PlanError, match="--budget 0"):
        make_plan(ladder, 0)


def test_plan_through_the_cli(ladder, capsys):
    assert main(["plan", "--ladder", str(ladder), "--budget", "1e6", "--model", "6x256", "--points", "5"]) == 0
    out = capsys.readouterr().out
    assert "Predicted threshold for 1,000,000 examples, model 6x256" in out
    grid_line = out.splitlines()[out.splitlines().index(next(l for l in out.splitlines() if l.startswith("Suggested grid"))) + 1]
    assert len(grid_line.split(",")) == 5
    assert main(["plan", "--ladder", str(ladder / "b5k"), "--budget", "1e6"]) == 2
    assert "no ladder.json" in capsys.readouterr().err


def test_suggested_grid_is_log_spaced_and_rounded():
    assert suggested_grid(200, 800, 5) == [100, 200, 400, 800, 1600]
    assert suggested_grid(10_000, 40_000, 3, ceiling=50_000) == [5000, 20000, 50000]  # 80,000 capped at the budget
    assert suggested_grid(150, 600, 4) == [75, 190, 480, 1200]  # 75 x 2.52^k, two significant digits


def test_the_ladder_page_names_every_rung_and_its_figures(ladder):
    page = write_ladder_page(ladder).read_text()
    rung = read_ladder(ladder).rungs[2]
    assert np.array_equal(rung_threshold(rung).replicates, rung_threshold(rung).replicates, equal_nan=True)  # seeded: pages are stable
    for budget in ("5,000", "10,000", "20,000", "40,000", "80,000"):
        assert f"| {budget} | 2x64 |" in page
    budget_slope = float(re.search(r"I\* ∝ budget\^(-?[0-9.]+) \(95 % interval", page).group(1))
    params_slope = float(re.search(r"I\* ∝ params\^(-?[0-9.]+) \(95 % interval", page).group(1))
    assert budget_slope == pytest.approx(0.5, abs=0.1) and params_slope == pytest.approx(-0.3, abs=0.15)
    # wall = budget / 1000 s in every cell: linear on the fastest and on the median cell
    assert "grows as budget^1.00 over the budget ladder, fitted on each rung's fastest cell: about linear" in page
    assert "On the median cell: budget^1.00." in page
    assert "paper's band of 300-1,000" in page and "budget 1,000,000 is outside the measured 5,000-80,000" in page
    for link in [part.split(")")[0] for part in page.split("](")[1:]]:
        assert (ladder / link).is_file(), link


@pytest.mark.skipif(not (COMMITTED / "ladder.json").is_file(), reason="no committed ladder")
def test_committed_ladder_page_is_what_its_databases_say(tmp_path):
    manifest = json.loads((COMMITTED / "ladder.json").read_text())
    copy = tmp_path / "results" / "scaling"
    copy.mkdir(parents=True)
    shutil.copy(COMMITTED / "ladder.json", copy)
    for relative in manifest.get("e1", []) + manifest.get("e4", []):
        source = COMMITTED / relative
        if (source / "results.sqlite").is_file():
            (copy / relative).mkdir(parents=True, exist_ok=True)
            shutil.copy(source / "results.sqlite", copy / relative)
    write_ladder_page(copy)
    assert (copy / "README.md").read_text() == (COMMITTED / "README.md").read_text(), \
        "docs/results/scaling/README.md is stale: run divlab report docs/results/scaling"


def test_a_law_on_two_rungs_and_a_threshold_beyond_the_grid_are_said(tmp_path):
    """Two rungs fit any line exactly; a predicted I* outside every trained instruction count is carried blind."""
    two = make_ladder(tmp_path, b=1.0, c=0.0, models=False, budgets=(20_000, 40_000))
    reasons = " ".join(make_plan(two, 100_000_000).prediction.extrapolated)
    assert "rests on 2 rungs with an I*" in reasons
    assert "lies outside every instruction count the ladder trained on (8-4,096)" in reasons
    inside = make_plan(two, 30_000).prediction.extrapolated
    assert inside == ["the budget law rests on 2 rungs with an I*: a line through two points fits them exactly and "
                      "cannot test the law's form"]


def test_the_readme_quotes_the_committed_ladder_page():
    """The project README's scale-ladder paragraph is written by hand: every interval, law and E4 accuracy it
    quotes must be on the page the databases regenerate (test above), so that a new rung cannot leave it stale."""
    readme = (REPO / "README.md").read_text()
    start = readme.index("- **Scale ladder**")
    paragraph = readme[start:readme.index("\n- **", start + 1)]
    page = (COMMITTED / "README.md").read_text()
    intervals = re.findall(r"(?<![\^\d,.-])(\d[\d,]*) \[(\d[\d,]*), (\d[\d,]*)\]", paragraph)
    laws = re.findall(r"(budget|params)\^(-?[\d.]+) \[(-?[\d.]+), (-?[\d.]+)\]", paragraph)
    accuracies = re.findall(r"\b(0\.\d{3})\b", paragraph)
    assert len(intervals) >= 2 and len(laws) >= 2 and len(accuracies) >= 2, paragraph
    for value, low, high in intervals:
        assert f"{value} [{low}, {high}]" in page, (value, low, high)
    for variable, slope, low, high in laws:
        assert f"{variable}^{slope} (95 % interval {low} to {high})" in page, (variable, slope)
    for accuracy in accuracies:
        assert f"| {accuracy} |" in page, accuracy
