"""The one shape every tracker backend has, and the fan-out to several."""

from __future__ import annotations

import math
from pathlib import Path


def flatten(values: dict, prefix: str = "") -> dict:
    """{"train": {"lr": 3e-3}} -> {"train.lr": 3e-3}: trackers take flat parameters. Lists stay whole."""
    flat = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def numeric(values: dict) -> dict[str, float]:
    """The finite numbers of a (flattened) dict: what a tracker can plot."""
    out = {}
    for key, value in flatten(values).items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if math.isfinite(value):
            out[key] = float(value)
    return out


class Run:
    """One run in one tracker. Backends implement the four methods; constructors take keyword arguments
    experiment, run_name, root (where offline stores live), group and tensorboard_dir."""

    def __init__(self, *, experiment: str, run_name: str, root: Path, group: str | None = None,
                 tensorboard_dir: Path | None = None):
        self.experiment, self.run_name, self.root, self.group = experiment, run_name, root, group
        self.tensorboard_dir = tensorboard_dir or root / "tensorboard" / run_name

    def log_params(self, params: dict) -> None:
        raise NotImplementedError

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        raise NotImplementedError

    def log_summary(self, summary: dict[str, float]) -> None:
        """Final results (one value each)."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class TrackedRun:
    """The same calls to every chosen tracker. A tracker that fails (a server gone, a full disk) is warned
    about once, with its traceback, and dropped: the run and what divlab itself writes go on, so a finished
    cell is never lost to its tracker."""

    def __init__(self, runs: list[Run]):
        self.runs = runs

    def _each(self, call: str, *args) -> None:
        for run in list(self.runs):
            try:
                getattr(run, call)(*args)
            except Exception:  # noqa: BLE001 - the tracker is dropped, the work goes on
                self.runs.remove(run)
                warn_dropped(type(run).__name__, run.run_name)

    def log_params(self, params: dict) -> None:
        self._each("log_params", flatten(params))

    def log_metrics(self, metrics: dict, step: int) -> None:
        values = numeric(metrics)
        if values:
            self._each("log_metrics", values, step)

    def log_summary(self, summary: dict) -> None:
        values = numeric(summary)
        if values:
            self._each("log_summary", values)

    def close(self) -> None:
        self._each("close")


def warn_dropped(tracker: str, run_name: str) -> None:
    import sys
    import traceback

    print(f"divlab: tracker {tracker} failed for run {run_name} and is dropped (results are unaffected):\n"
          f"{traceback.format_exc()}", file=sys.stderr, flush=True)
