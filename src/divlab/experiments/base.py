"""What every experiment kind is made of, and what a cell is.

A kind is one module exporting `KIND`, an `ExperimentKind`: the preset sections its cells hold, which
fields take the cell's seed, a `resolve(config)` that validates and completes a cell's config (raising
ConfigError, so bad grids fail before any cell runs), the worker function that runs a cell, and its
reports (builder and verdict per report name, paper reference numbers in report/reference/). A kind may also
run several cells as one batched group (`group_key`, `run_group`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

INSTRUCTIONS_AXIS = "dataset.num_train_rules"  # the grid axis holding I, the number of distinct instructions


@dataclass(frozen=True)
class ReportSpec:
    """How one experiment's report is drawn and judged: "module:function" references, imported only when a
    report is written (matplotlib stays out of the sweep's workers)."""

    builder: str  # (rows, figure_path) -> report.common.Section
    verdict: str  # (rows) -> report.common.Verdict
    axes: tuple[str, ...] = ()  # grid axes the figure needs


@dataclass(frozen=True)
class ExperimentKind:
    name: str
    sections: tuple[str, ...]
    seed_fields: tuple[str, ...]  # "section.field" set to the cell's seed
    resolve: Callable[[dict], dict]  # config -> complete canonical config
    run: Callable[[str, dict, str, int], dict]  # (cell_id, config, run_dir, threads) -> result; raises on failure
    reports: dict[str, ReportSpec] = field(default_factory=dict)  # report name (a preset's report.kind) -> spec
    description: str = ""
    # Kinds whose cells can train together as one batched model: what must be equal within a group
    # (config -> the config's shape and settings), and the worker that runs a group ([(cell_id, config)],
    # run_dir, threads) -> {cell_id: outcome}.
    group_key: Callable[[dict], dict] | None = None
    run_group: Callable[[list, str, int], dict] | None = None


@dataclass(frozen=True)
class Cell:
    """One grid point x seed, fully resolved."""

    point: dict  # axis name -> label (what the report groups by)
    seed: int
    config: dict

    @property
    def cell_id(self) -> str:
        return config_hash(self.config)


def point_label(point: dict) -> str:
    """A grid point as people read it: "num_train_rules=2048, variant=init 0.06" (field names without section)."""
    return ", ".join(f"{axis.split('.')[-1]}={value}" for axis, value in point.items()) or "base"


def config_hash(config: dict) -> str:
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def shared_dir(run_dir: str | Path, name: str, config: dict) -> Path:
    """Where a run keeps what cells share: run_dir/<name>/<hash of config> (datasets, mixtures)."""
    return Path(run_dir) / name / config_hash(config)


def cell_dir(run_dir: str | Path, cell_id: str) -> Path:
    return Path(run_dir) / "cells" / cell_id


def check_known(section: str, values: dict, defaults: dict) -> dict:
    """Defaults completed by `values`; a field the section does not know is a ConfigError."""
    from divlab.errors import ConfigError

    unknown = sorted(set(values) - set(defaults))
    if unknown:
        raise ConfigError(f"{section}.{unknown[0]}", values[unknown[0]], f"unknown field; known: {', '.join(defaults)}")
    return {**defaults, **values}
