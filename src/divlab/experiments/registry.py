"""Experiment kinds by name. Each entry names the module attribute holding the kind's `ExperimentKind`;
the module is imported the first time the kind is used, so nothing here imports a kind at start-up, and
no kind module imports this one back. Adding a kind: one module, its presets, one line below, or, outside
divlab, a `divlab.kinds` entry point or `kind = "module:attr"` in a preset."""

from __future__ import annotations

from divlab.experiments.base import ExperimentKind
from divlab.registry import Registry

DEFAULT_KIND = "rewrite"  # presets and cells without a kind (their ids predate kinds)

KINDS = Registry("experiment kind", "divlab.kinds", "kind", check=lambda value: isinstance(value, ExperimentKind),
                 builtin={
                     "rewrite": "divlab.experiments.rewrite:KIND",
                     "code-mix": "divlab.experiments.code_mix:KIND",
                     "generalist": "divlab.experiments.generalist:KIND",
                     "encrypted": "divlab.experiments.encrypted:KIND",
                     "algebra": "divlab.experiments.algebra:KIND",
                     "algebra-llm": "divlab.experiments.algebra_llm:KIND",
                     "program": "divlab.experiments.program:KIND",
                 })


def kind_names() -> list[str]:
    return KINDS.names()


def get_kind(name: str) -> ExperimentKind:
    return KINDS.get(name)


def kind_of(config: dict) -> ExperimentKind:
    """The kind of a resolved cell config."""
    return get_kind(config.get("kind", DEFAULT_KIND))
