"""Experiments as data: preset files list a grid and the sections of their kind (see registry.py)."""

from divlab.experiments.base import Cell, ExperimentKind, ReportSpec, config_hash
from divlab.experiments.registry import get_kind, kind_names
from divlab.experiments.spec import ExperimentSpec, experiment_names, load_experiment

__all__ = ["Cell", "ExperimentKind", "ExperimentSpec", "ReportSpec", "config_hash", "experiment_names", "get_kind",
           "kind_names", "load_experiment"]
