"""Experiment tracking: what divlab already writes (metrics.jsonl, the sweep's store, scores.json) mirrored to
the tools researchers watch their runs in, configured the way the field does it (`--report-to`, as
transformers' `report_to`). Offline by default: TensorBoard event files in the run directory, an MLflow file
store beside the sweep's database, W&B in offline mode.

One backend per module, registered in BACKENDS ("module:Class", imported only when asked for); the tracker
libraries are optional (the `tracking` extra) and asking for a missing one is refused with its pip command.
The trainer reports through one hook, `log_training`, called where train/curves.py writes metrics.jsonl; it
does nothing unless a command opened a run (`tracked`). A run may be bound to a training directory: the
cells of a batched group train in one process at once, and each row goes to the run of the cell that wrote it.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
from pathlib import Path
from typing import Iterator, Sequence

from divlab.errors import ConfigError, DivlabError
from divlab.registry import load_attribute
from divlab.tracking.base import Run, TrackedRun, flatten, numeric, warn_dropped

BACKENDS: dict[str, str] = {
    "tensorboard": "divlab.tracking.tensorboard:TensorBoardRun",
    "mlflow": "divlab.tracking.mlflow:MlflowRun",
    "wandb": "divlab.tracking.wandb:WandbRun",
}
# backend -> (module that must import, the pip command that installs it)
REQUIRES: dict[str, tuple[str, str]] = {
    "tensorboard": ("tensorboard", "pip install 'divlab[tracking]' (or: pip install tensorboard)"),
    "mlflow": ("mlflow", "pip install 'divlab[tracking]' (or: pip install mlflow-skinny)"),
    "wandb": ("wandb", "pip install 'divlab[tracking]' (or: pip install wandb)"),
}
# How a sweep's worker processes learn what to report to (they inherit the environment of the sweep)
ENV = "DIVLAB_TRACKING"


class TrackingError(DivlabError):
    """A tracker that cannot be used here; the message says how to install it."""


def parse_report_to(values: Sequence[str] | str | None) -> tuple[str, ...]:
    """`--report-to` values (repeatable, or comma-separated) -> backend names; `none` (the default) alone."""
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    names = [n.strip() for value in values for n in value.split(",") if n.strip()]
    if "none" in names:
        if len(names) > 1:
            raise ConfigError("report_to", ",".join(names), "`none` cannot be combined with a tracker")
        return ()
    unknown = [n for n in names if n not in BACKENDS]
    if unknown:
        raise ConfigError("report_to", unknown[0], f"unknown tracker; known: none, {', '.join(BACKENDS)}")
    return tuple(dict.fromkeys(names))


def check_installed(names: Sequence[str]) -> None:
    """Refuse, before anything runs, a tracker whose library is not installed."""
    for name in names:
        module, install = REQUIRES[name]
        try:
            importlib.import_module(module)
        except ImportError:
            raise TrackingError(f"--report-to {name}: the {module} package is not installed; {install}") from None


def start_run(names: Sequence[str], *, experiment: str, run_name: str, root: str | Path, params: dict | None = None,
              group: str | None = None, tensorboard_dir: str | Path | None = None) -> TrackedRun:
    """One run in each named tracker. `root` is where the offline stores live (`root/mlruns`,
    `root/wandb`, `root/tensorboard/<run_name>` unless `tensorboard_dir` is given)."""
    check_installed(names)
    runs: list[Run] = []
    for name in names:
        backend = load_attribute(BACKENDS[name])
        try:
            runs.append(backend(experiment=experiment, run_name=run_name, root=Path(root), group=group,
                                tensorboard_dir=None if tensorboard_dir is None else Path(tensorboard_dir)))
        except Exception:  # noqa: BLE001 - an unreachable tracking server must not stop the work
            warn_dropped(name, run_name)
    tracked = TrackedRun(runs)
    if params:
        tracked.log_params(params)
    return tracked


class LazyRun:
    """A run opened at its first use: a command's run directory is claimed by the command itself (it refuses
    a directory holding anything else), so the trackers' files appear in it only once the work has begun."""

    def __init__(self, names: Sequence[str], run_args: dict):
        check_installed(names)  # refused before anything runs
        self.names, self.run_args, self.run = tuple(names), run_args, None

    def _get(self) -> TrackedRun:
        if self.run is None:
            self.run = start_run(self.names, **self.run_args)
        return self.run

    def log_metrics(self, metrics: dict, step: int) -> None:
        self._get().log_metrics(metrics, step)

    def log_summary(self, summary: dict) -> None:
        self._get().log_summary(summary)

    def close(self) -> None:
        if self.run is not None:
            self.run.close()


# Open runs, innermost last, each with the training directory it is bound to (None: the whole command's)
_CURRENT: list[tuple[Path | None, LazyRun]] = []


@contextlib.contextmanager
def tracked(names: Sequence[str], *, directory: str | Path | None = None, **run_args) -> Iterator[LazyRun | None]:
    """A run for the duration of a command (see `start_run` for the arguments); the trainer's
    `log_training` calls report to it: those of `directory` only, when given, else those of any run."""
    if not names:
        yield None
        return
    run = LazyRun(names, run_args)
    entry = (None if directory is None else Path(directory).resolve(), run)
    _CURRENT.append(entry)
    try:
        yield run
    finally:
        _CURRENT.remove(entry)
        run.close()


def _run_for(directory: str | Path | None) -> LazyRun | None:
    """The run that a row written in `directory` belongs to: the one bound to it, else the command's, else
    the only run open (a kind whose trainer writes below its cell's directory)."""
    if not _CURRENT:  # nothing tracked: the trainer's rows cost no path resolution
        return None
    wanted = None if directory is None else Path(directory).resolve()
    bound = [run for where, run in _CURRENT if where is not None and where == wanted]
    unbound = [run for where, run in _CURRENT if where is None]
    only = [run for _, run in _CURRENT] if len(_CURRENT) == 1 else []
    return (bound or unbound or only or [None])[-1]


def log_training(record: dict, directory: str | Path | None = None) -> None:
    """The trainer's hook (one metrics.jsonl row, written in `directory`): its numbers against the step, and
    the learning curve's accuracies also against the examples seen (`curve/...`), as the paper plots them."""
    run = _run_for(directory)
    if run is None:
        return
    step = int(record.get("step", 0))
    values = {k: v for k, v in numeric(record).items() if k != "step"}
    run.log_metrics({f"train/{k}": v for k, v in values.items()}, step)
    curve = {k: v for k, v in values.items() if k.endswith("_accuracy")}
    if curve and "examples_seen" in record:
        run.log_metrics({f"curve/{k}": v for k, v in curve.items()}, int(record["examples_seen"]))


# -- sweeps: one experiment (or group), each cell a run ----------------------------------------------------
def configure_sweep(names: Sequence[str], run_dir: str | Path, experiment: str) -> None:
    """Make the cells of the sweep about to start report to NAMES, or to nothing (the workers inherit this
    process's environment)."""
    if not names:
        os.environ.pop(ENV, None)
        return
    check_installed(names)
    os.environ[ENV] = json.dumps({"report_to": list(names), "root": str(Path(run_dir).resolve()),
                                  "experiment": experiment})


# The trackers' own settings that a worker must share with the sweep's process (where runs go, W&B's mode)
TRACKER_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_ALLOW_FILE_STORE", "WANDB_MODE", "WANDB_PROJECT", "WANDB_ENTITY",
               "WANDB_DIR", "TENSORBOARD_LOGDIR")


def sweep_setting() -> dict[str, str]:
    """The environment variables that carry this sweep's tracking to its workers ({} when it reports nowhere):
    what a Ray task's runtime_env must hold on a cluster, whose workers do not inherit this process's.
    (Credentials such as WANDB_API_KEY are not sent: a runtime_env is visible in Ray's dashboard.)"""
    if not os.environ.get(ENV):
        return {}
    return {name: os.environ[name] for name in (ENV, *TRACKER_ENV) if os.environ.get(name)}


@contextlib.contextmanager
def cell_run(cell_id: str, config: dict, directory: str | Path | None = None) -> Iterator[LazyRun | None]:
    """A sweep cell's run (in its worker) when the sweep reports anywhere: its full config as parameters,
    its training live through `log_training` (the rows written in `directory`, the cell's own, when given);
    the caller logs its result at the end."""
    setting = os.environ.get(ENV)
    if not setting:
        yield None
        return
    setting = json.loads(setting)
    root = Path(setting["root"])
    with tracked(setting["report_to"], directory=directory, experiment=setting["experiment"], run_name=cell_id,
                 root=root, params=config, group=setting["experiment"],
                 tensorboard_dir=root / "tensorboard" / cell_id) as run:
        yield run


__all__ = ["BACKENDS", "TrackingError", "check_installed", "cell_run", "flatten", "log_training",
           "configure_sweep", "parse_report_to", "start_run", "sweep_setting", "tracked"]
