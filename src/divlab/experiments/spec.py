"""Loading experiment presets and expanding their grids into cells.

A preset file (`presets/experiments/<experiment>/<preset>.toml`) has tables `dataset` (rewrite task fields),
`model` (ModelConfig fields or `preset = "small"`), `train` (TrainConfig fields), `eval`, and `grid`:
each grid entry is an axis. An axis is either a dotted field path with a list of values
(`"dataset.num_train_rules" = [10, 100]`) or a named axis whose values are tables of overrides with a
`label` (`family = [{ label = "repeat", dataset = { families = [...] } }, ...]`). Seeds are one more axis.
A cell's identity is the hash of its complete resolved config, so any change to what a cell computes gives
it a new id, and nothing else does.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from divlab.models.gpt import ModelConfig
from divlab.tasks.registry import ConfigError
from divlab.tasks.rewrite import RewriteConfig
from divlab.train.config import TrainConfig

SECTIONS = ("dataset", "model", "train", "eval")  # the rewrite kind's; other kinds declare their own


@dataclass(frozen=True)
class ExperimentKind:
    """How the cells of one family of experiments are validated and run. A preset names its kind
    (`kind = "code-mix"`); presets without one are from-scratch rewrite experiments (E1-E5)."""

    name: str
    sections: tuple[str, ...]
    seed_fields: tuple[str, ...]  # "section.field" set to the cell's seed
    resolve: Any  # (config dict) -> complete canonical config dict
    runner: str  # "module:function" (cell_id, config, run_dir, threads) -> {'ok': ..., ...}


KINDS: dict[str, ExperimentKind] = {}


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _hub() -> bool:
    from divlab.mix.sources import hub_reachable

    return hub_reachable()


# What a preset may require, how to tell, and what it means.
REQUIREMENTS = {"cuda": (_cuda, "a CUDA GPU: the published models do not fit or finish on a CPU"),
                "hub": (_hub, "the Hugging Face hub, for the published models and datasets")}


def register_kind(kind: ExperimentKind) -> ExperimentKind:
    KINDS[kind.name] = kind
    return kind


def kind_of(config: dict) -> ExperimentKind:
    _load_kinds()
    return KINDS[config.get("kind", "rewrite")]


def _load_kinds() -> None:
    import divlab.experiments.code_mix  # noqa: F401  (registers "code-mix")
    import divlab.experiments.encrypted  # noqa: F401  (registers "encrypted")


def _presets_root():
    return resources.files("divlab").joinpath("presets", "experiments")


def experiment_names() -> list[str]:
    return sorted(p.name for p in _presets_root().iterdir() if p.is_dir())


def preset_names(experiment: str) -> list[str]:
    folder = _presets_root().joinpath(experiment)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


@dataclass(frozen=True)
class Cell:
    """One grid point x seed, fully resolved."""

    point: dict  # axis name -> label (what the report groups by)
    seed: int
    config: dict  # {"dataset": ..., "model": ..., "train": ..., "eval": ...}

    @property
    def cell_id(self) -> str:
        return config_hash(self.config)


def config_hash(config: dict) -> str:
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _set_path(target: dict, path: str, value: Any, experiment: str, sections=SECTIONS) -> None:
    section, _, name = path.partition(".")
    if section not in sections or not name:
        raise ConfigError("grid", path, f"axis of experiment {experiment!r} must be '<{'|'.join(sections)}>.<field>'")
    target.setdefault(section, {})[name] = value


def _merge(base: dict, overrides: dict, sections=SECTIONS) -> dict:
    out = copy.deepcopy(base)
    for section, values in overrides.items():
        if section == "label":
            continue
        if section not in sections or not isinstance(values, dict):
            raise ConfigError("grid", section, f"override tables hold sections {', '.join(sections)}")
        out.setdefault(section, {}).update(values)
    return out


@dataclass
class ExperimentSpec:
    experiment: str
    preset: str
    description: str
    base: dict
    axes: dict[str, list[tuple[str, dict]]]  # axis -> [(label, overrides)]
    seeds: int = 1
    report: dict = field(default_factory=dict)
    kind: str = "rewrite"
    requires: tuple[str, ...] = ()  # "cuda", "hub": checked before any cell runs

    def unmet_requirements(self) -> list[str]:
        return [f"{need} ({REQUIREMENTS[need][1]})" for need in self.requires if not REQUIREMENTS[need][0]()]

    def cells(self) -> list[Cell]:
        kind = KINDS[self.kind]
        names = list(self.axes)
        cells = []
        for combo in itertools.product(*(self.axes[n] for n in names)):
            config = copy.deepcopy(self.base)
            point = {}
            for name, (label, overrides) in zip(names, combo):
                point[name] = label
                config = _merge(config, overrides, kind.sections)
            for seed in range(self.seeds):
                seeded = copy.deepcopy(config)
                for path in kind.seed_fields:
                    section, _, name = path.partition(".")
                    seeded.setdefault(section, {})[name] = seed
                cells.append(Cell(point=point, seed=seed, config=kind.resolve(seeded)))
        return cells


def resolve(config: dict) -> dict:
    """Validate every section through its typed config and return the complete, canonical values."""
    dataset = RewriteConfig.from_dict(config.get("dataset", {})).to_dict()
    model_values = dict(config.get("model", {}))
    preset = model_values.pop("preset", None)
    model = (ModelConfig.from_preset(preset, model_values) if preset else ModelConfig(**model_values)).to_dict()
    train = TrainConfig.from_dict({**config.get("train", {}), "model": model}).to_dict()
    train.pop("model")
    evaluation = {"batch_tokens": 16384, **config.get("eval", {})}
    return {"dataset": dataset, "model": model, "train": train, "eval": evaluation}


register_kind(ExperimentKind("rewrite", SECTIONS, ("dataset.seed", "train.seed"), resolve,
                             "divlab.sweep.cell:run_rewrite_cell"))


def load_experiment(experiment: str, preset: str, seeds: int | None = None) -> ExperimentSpec:
    """`preset` names a packaged preset of `experiment`, or is the path of a preset file of one's own."""
    folder = _presets_root().joinpath(experiment)
    if not folder.is_dir():
        raise ConfigError("experiment", experiment, f"unknown experiment; known: {', '.join(experiment_names())}")
    if preset.endswith(".toml"):
        path = Path(preset)
        if not path.is_file():
            raise ConfigError("preset", preset, "preset file not found")
    else:
        path = folder.joinpath(f"{preset}.toml")
        if not path.is_file():
            raise ConfigError("preset", preset, f"unknown preset for {experiment}; known: {', '.join(preset_names(experiment))}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("preset", preset, f"not valid TOML ({error})") from None
    _load_kinds()
    kind_name = data.get("kind", "rewrite")
    if kind_name not in KINDS:
        raise ConfigError("kind", kind_name, f"unknown experiment kind; known: {', '.join(sorted(KINDS))}")
    sections = KINDS[kind_name].sections
    unknown = set(data) - {"description", "seeds", "grid", "report", "kind", "requires", *sections}
    if unknown:
        raise ConfigError(sorted(unknown)[0], data[sorted(unknown)[0]], "unknown preset table; known: description, seeds, grid, report, kind, " + ", ".join(sections))
    base = {section: data.get(section, {}) for section in sections}
    axes: dict[str, list[tuple[str, dict]]] = {}
    for name, values in data.get("grid", {}).items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"grid.{name}", values, "an axis is a non-empty list")
        entries = []
        for value in values:
            if isinstance(value, dict):
                if "label" not in value:
                    raise ConfigError(f"grid.{name}", value, "table values of an axis need a label")
                entries.append((str(value["label"]), {k: v for k, v in value.items() if k != "label"}))
            else:
                overrides: dict = {}
                _set_path(overrides, name, value, experiment, sections)
                entries.append((value, overrides))
        axes[name] = entries
    spec = ExperimentSpec(
        experiment=experiment, preset=preset, description=data.get("description", ""), base=base, axes=axes,
        seeds=seeds if seeds is not None else int(data.get("seeds", 1)), report=data.get("report", {}),
        kind=kind_name, requires=tuple(data.get("requires", ())),
    )
    for need in spec.requires:
        if need not in REQUIREMENTS:
            raise ConfigError("requires", need, f"unknown requirement; known: {', '.join(REQUIREMENTS)}")
    if spec.seeds < 1:
        raise ConfigError("seeds", spec.seeds, "must be >= 1")
    spec.cells()  # validates every grid point before anything runs
    return spec
