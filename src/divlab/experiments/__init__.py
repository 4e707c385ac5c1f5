"""Experiments as data: preset files list a grid, a dataset config, a model and a training config."""

from divlab.experiments.spec import Cell, ExperimentSpec, experiment_names, load_experiment

__all__ = ["Cell", "ExperimentSpec", "experiment_names", "load_experiment"]
