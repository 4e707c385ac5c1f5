"""Loading experiment presets and expanding their grids into cells.

A preset file (`presets/experiments/<experiment>/<preset>.toml`, or a file of one's own) names its `kind`
(default `rewrite`) and holds that kind's sections plus `grid`: each grid entry is an axis. An axis is either
a dotted field path with a list of values (`"dataset.num_train_rules" = [10, 100]`) or a named axis whose
values are tables of overrides with a `label` (`family = [{ label = "repeat", dataset = { ... } }, ...]`).
Seeds are one more axis. A cell's identity is the hash of its complete resolved config, so any change to
what a cell computes gives it a new id, and nothing else does.
"""

from __future__ import annotations

import json

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any, Mapping

from divlab.errors import ConfigError
from divlab.experiments.base import Cell, ExperimentKind, config_hash
from divlab.experiments.registry import DEFAULT_KIND, get_kind
from divlab.registry import is_reference
from divlab.preset_files import find_preset, preset_folder, preset_names as _preset_names

__all__ = ["Cell", "ExperimentSpec", "config_hash", "experiment_names", "load_experiment", "preset_names"]


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _hub() -> bool:
    from divlab.mix.sources import hub_reachable

    return hub_reachable()


# What a preset may require, how to tell, and what it means.
REQUIREMENTS = {"cuda": (_cuda, "a CUDA GPU: the published models do not fit or finish on a CPU"),
                "hub": (_hub, "the Hugging Face hub, for the published models and datasets")}
PRESET_TABLES = ("description", "seeds", "grid", "report", "kind", "requires")


def experiment_names() -> list[str]:
    return sorted(p.name for p in preset_folder("experiments").iterdir() if p.is_dir())


def preset_names(experiment: str) -> list[str]:
    return _preset_names("experiments", experiment)


def _set_path(target: dict, path: str, value: Any, sections: tuple[str, ...], what: str) -> None:
    section, _, name = path.partition(".")
    if section not in sections or not name:
        raise ConfigError(what, path, f"must be '<{'|'.join(sections)}>.<field>'")
    target.setdefault(section, {})[name] = value


def _merge(base: dict, overrides: dict, sections: tuple[str, ...]) -> dict:
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
    kind: str = DEFAULT_KIND  # a registered name, or "module:attr"
    requires: tuple[str, ...] = ()  # "cuda", "hub": checked before any cell runs

    @property
    def experiment_kind(self) -> ExperimentKind:
        return get_kind(self.kind)

    def unmet_requirements(self) -> list[str]:
        return [f"{need} ({REQUIREMENTS[need][1]})" for need in self.requires if not REQUIREMENTS[need][0]()]

    def cells(self) -> list[Cell]:
        kind = self.experiment_kind
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
                resolved = kind.resolve(seeded)
                if is_reference(self.kind):  # workers find a kind outside divlab by the reference its cells carry
                    resolved = {**resolved, "kind": self.kind}
                cells.append(Cell(point=point, seed=seed, config=resolved))
        return cells

    def identity(self) -> dict:
        """What a run directory records of its sweep: cells of another identity never share its store. `resolved`
        is the whole config (a changed preset file is named field by field), `config` its hash."""
        resolved = json.loads(json.dumps({"kind": self.kind, "base": self.base, "report": self.report,
                                          "axes": {n: v for n, v in self.axes.items()}}, sort_keys=True))
        return {"experiment": self.experiment, "preset": self.preset, "config": config_hash(resolved),
                "resolved": resolved}


def load_experiment(experiment: str, preset: str, seeds: int | None = None,
                    overrides: Mapping[str, Any] | None = None) -> ExperimentSpec:
    """`preset` names a packaged preset of `experiment`, or is the path of a preset file of one's own;
    `overrides` ("section.field" -> value) change the base config of every cell."""
    if experiment not in experiment_names() and not preset.endswith(".toml"):  # a preset file may name its own
        raise ConfigError("experiment", experiment, f"unknown experiment; known: {', '.join(experiment_names())}")
    data, _ = find_preset(("experiments", experiment), preset)
    kind_name = data.get("kind", DEFAULT_KIND)
    kind = get_kind(kind_name)
    unknown = sorted(set(data) - {*PRESET_TABLES, *kind.sections})
    if unknown:
        raise ConfigError(unknown[0], data[unknown[0]],
                          f"unknown preset table; known: {', '.join(PRESET_TABLES + kind.sections)}")
    base = {section: dict(data.get(section, {})) for section in kind.sections}
    for path, value in (overrides or {}).items():
        _set_path(base, path, value, kind.sections, "--set")
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
                axis_overrides: dict = {}
                _set_path(axis_overrides, name, value, kind.sections, "grid")
                entries.append((value, axis_overrides))
        axes[name] = entries
    report = dict(data.get("report", {}))
    unknown_report = sorted(set(report) - {"kind"})
    if unknown_report:
        raise ConfigError(f"report.{unknown_report[0]}", report[unknown_report[0]], "unknown field; known: kind")
    if "kind" in report and report["kind"] not in kind.reports:
        raise ConfigError("report.kind", report["kind"],
                          f"unknown report of kind {kind.name!r}; known: {', '.join(kind.reports)}")
    spec = ExperimentSpec(
        experiment=experiment, preset=preset, description=data.get("description", ""), base=base, axes=axes,
        seeds=seeds if seeds is not None else int(data.get("seeds", 1)), report=report,
        kind=kind_name if is_reference(kind_name) else kind.name, requires=tuple(data.get("requires", ())),
    )
    for need in spec.requires:
        if need not in REQUIREMENTS:
            raise ConfigError("requires", need, f"unknown requirement; known: {', '.join(REQUIREMENTS)}")
    if spec.seeds < 1:
        raise ConfigError("seeds", spec.seeds, "must be >= 1")
    spec.cells()  # validates every grid point before anything runs
    return spec
