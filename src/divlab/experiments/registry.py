"""Experiment kinds by name. Each entry names the module attribute holding the kind's `ExperimentKind`;
the module is imported the first time the kind is used, so nothing here imports a kind at start-up, and
no kind module imports this one back. Adding a kind: one module, its presets, one line below."""

from __future__ import annotations

from divlab.errors import ConfigError
from divlab.experiments.base import ExperimentKind
from divlab.tasks.registry import load_attribute

KINDS: dict[str, str] = {
    "rewrite": "divlab.experiments.rewrite:KIND",
    "code-mix": "divlab.experiments.code_mix:KIND",
    "generalist": "divlab.experiments.generalist:KIND",
    "encrypted": "divlab.experiments.encrypted:KIND",
    "algebra": "divlab.experiments.algebra:KIND",
    "algebra-llm": "divlab.experiments.algebra_llm:KIND",
    "program": "divlab.experiments.program:KIND",
}


def kind_names() -> list[str]:
    return sorted(KINDS)


def get_kind(name: str) -> ExperimentKind:
    if name not in KINDS:
        raise ConfigError("kind", name, f"unknown experiment kind; known: {', '.join(kind_names())}")
    return load_attribute(KINDS[name])


def kind_of(config: dict) -> ExperimentKind:
    """The kind of a resolved cell config (rewrite cells carry no "kind" key: their ids predate kinds)."""
    return get_kind(config.get("kind", "rewrite"))
