"""A scale ladder: E1 sweeps of one recipe at several budgets and model sizes, read back from their stores.

A ladder directory holds `ladder.json`, which names the sweep directories it draws on (relative paths, so a
rung can reuse another sweep's cells, as the 40k rung reuses the gallery's E1 sweep), and the command that
(re)runs the sweeps. Cells are grouped into rungs by everything that makes a threshold comparable: the task's
shape, the budget, the model and the training recipe. Every number comes from the stores' finished cells.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from divlab.errors import UsageError
from divlab.rundir import read_directory_manifest
from divlab.experiments.base import INSTRUCTIONS_AXIS
from divlab.sweep.store import DATABASE, ResultStore

LADDER_FILE = "ladder.json"


@dataclass(frozen=True, order=True)
class Recipe:
    """What one rung holds fixed. Cells that differ in anything here are never fitted together."""

    budget: int
    n_layer: int
    n_embd: int
    n_head: int
    epochs: float
    batch_size: int
    lr: float
    task: str  # alphabet and string lengths, e.g. "12 letters, x 2-2, y 2-2, z 8-8"

    @property
    def model(self) -> str:
        return f"{self.n_layer}x{self.n_embd}"

    @property
    def params(self) -> int:
        return non_embedding_params(self.n_layer, self.n_embd)

    @property
    def training(self) -> tuple:
        """The recipe without the budget and the model: what the ladder's rungs must share to be compared."""
        return (self.epochs, self.batch_size, self.lr, self.task)


def non_embedding_params(n_layer: int, n_embd: int) -> int:
    """12·L·d², GPT-2's non-embedding parameter count (attention 4d², MLP 8d² per layer): the size the
    scaling literature compares models by, independent of the vocabulary."""
    return 12 * n_layer * n_embd * n_embd


def parse_model(text: str) -> tuple[int, int]:
    """'6x256' -> (6, 256)."""
    layers, _, width = str(text).lower().partition("x")
    if not (layers.isdigit() and width.isdigit()) or int(layers) < 1 or int(width) < 1:
        raise UsageError(f"--model {text}: expected LAYERSxWIDTH, e.g. 6x256 (the paper's GPT-2)")
    return int(layers), int(width)


@dataclass(frozen=True)
class Point:
    instructions: int
    seed: int
    unseen: float
    seen: float
    train_s: float | None  # the cell's training time (what grows with the budget; kept when a cell is re-evaluated)
    fp32_gflops: float | None  # the measuring machine's fp32 peak per thread, when the cell recorded it
    tokens_per_s: float | None = None  # the cell's training throughput (what the machine's load moves)


@dataclass
class Rung:
    recipe: Recipe
    points: list[Point] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)

    @property
    def seeds(self) -> list[int]:
        return sorted({p.seed for p in self.points})

    def seeds_per_count(self) -> dict[int, int]:
        counts: dict[int, set] = defaultdict(set)
        for p in self.points:
            counts[p.instructions].add(p.seed)
        return {i: len(s) for i, s in sorted(counts.items())}

    @property
    def label(self) -> str:
        return f"{_short(self.recipe.budget)} examples, {self.recipe.model}"


def _short(n: int) -> str:
    return f"{n / 1000:g}k" if n % 1000 == 0 and n >= 1000 else f"{n:,}"


def recipe_of(config: dict) -> Recipe:
    data, model, train = config["dataset"], config.get("model", {}), config.get("train", {})
    task = (f"{len(data['alphabet'])} letters, x {_span(data['x_len'])}, y {_span(data['y_len'])}, "
            f"z {_span(data['z_len'])}")
    return Recipe(int(data["budget"]), int(model.get("n_layer", 0)), int(model.get("n_embd", 0)),
                  int(model.get("n_head", 0)), float(train.get("epochs", 1)), int(train.get("batch_size", 0)),
                  float(train.get("lr", 0)), task)


def _span(value) -> str:
    low, high = (value, value) if isinstance(value, int) else value
    return f"{low}-{high}"


@dataclass
class Ladder:
    directory: Path
    manifest: dict
    rungs: list[Rung]

    def base_rungs(self) -> list[Rung]:
        """The budget ladder: rungs of the most common model (the one the ladder varies the budget for)."""
        models = defaultdict(set)
        for rung in self.rungs:
            models[(rung.recipe.n_layer, rung.recipe.n_embd)].add(rung.recipe.budget)
        base = max(models, key=lambda m: (len(models[m]), -m[0] * m[1] ** 2)) if models else None
        return sorted((r for r in self.rungs if (r.recipe.n_layer, r.recipe.n_embd) == base), key=lambda r: r.recipe.budget)

    def model_rungs(self) -> list[Rung]:
        """The model ladder: the rungs at the budget with the most model sizes (at least two), by size."""
        sizes = defaultdict(list)
        for rung in self.rungs:
            sizes[rung.recipe.budget].append(rung)
        budget = max(sizes, key=lambda b: (len(sizes[b]), b)) if sizes else None
        chosen = sizes.get(budget, [])
        return sorted(chosen, key=lambda r: r.recipe.params) if len(chosen) >= 2 else []


def read_manifest(directory) -> dict:
    return read_directory_manifest(directory, LADDER_FILE, "a scale ladder; see docs/scaling.md")


def _rows(run_dir: Path) -> list[dict]:
    if not (run_dir / DATABASE).is_file():
        return []  # a rung whose sweep has not started yet
    with ResultStore(run_dir) as store:
        return store.rows("done")


def read_ladder(directory, section: str = "e1") -> Ladder:
    """The rungs of the ladder in DIRECTORY, from the finished cells of every sweep its manifest lists under
    SECTION. Rungs that share no training recipe with the most populated one are dropped: a ladder compares
    budgets and models, never recipes."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    by_recipe: dict[Recipe, Rung] = {}
    for relative in manifest.get(section, []):
        for row in _rows(directory / relative):
            recipe = recipe_of(row["config"])
            rung = by_recipe.setdefault(recipe, Rung(recipe))
            produced = row["result"].get("produced_by") or {}
            rung.points.append(Point(int(row["point"][INSTRUCTIONS_AXIS]), int(row["seed"]),
                                     float(row["result"]["unseen"]["accuracy"]), float(row["result"]["seen"]["accuracy"]),
                                     row["result"].get("train", {}).get("elapsed_s", row["result"].get("wall_s")),
                                     produced.get("fp32_gflops_per_thread"),
                                     row["result"].get("train", {}).get("tokens_per_s")))
            rung.sources.add(relative)
    rungs = list(by_recipe.values())
    if rungs:
        common = max({r.recipe.training for r in rungs}, key=lambda t: sum(len(r.points) for r in rungs if r.recipe.training == t))
        rungs = [r for r in rungs if r.recipe.training == common]
    return Ladder(directory, manifest, sorted(rungs, key=lambda r: (r.recipe.budget, r.recipe.params)))
