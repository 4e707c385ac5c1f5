"""Fine-tuning reports through transformers' own integrations (TRL's `report_to`): divlab only points them at
the offline stores of the run directory, through the environment variables those integrations read."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator, Sequence

from divlab.tracking import check_installed


def trainer_environment(names: Sequence[str], out_dir: str | Path, experiment: str) -> dict[str, str]:
    """What the integrations read: TensorBoard's directory, MLflow's file store and experiment, W&B offline."""
    out_dir = Path(out_dir).resolve()
    env = {}
    if "tensorboard" in names:
        env["TENSORBOARD_LOGGING_DIR"] = str(out_dir / "tensorboard")
    if "mlflow" in names:
        env.update(MLFLOW_TRACKING_URI=(out_dir / "mlruns").as_uri(), MLFLOW_EXPERIMENT_NAME=experiment,
                   MLFLOW_ALLOW_FILE_STORE="true", MLFLOW_FLATTEN_PARAMS="true")
    if "wandb" in names:
        env.update(WANDB_MODE="offline", WANDB_DIR=str(out_dir), WANDB_PROJECT=experiment)
    return env


@contextlib.contextmanager
def trainer_tracking(names: Sequence[str], out_dir: str | Path, experiment: str) -> Iterator[list[str]]:
    """Yields the `report_to` list for the Trainer; meanwhile the environment points the integrations at the
    run directory (what the user set already stands: a tracking server, W&B online), restored afterwards."""
    check_installed(names)
    wanted = {k: v for k, v in trainer_environment(names, out_dir, experiment).items() if k not in os.environ}
    os.environ.update(wanted)
    try:
        yield list(names)
    finally:
        for key in wanted:
            os.environ.pop(key, None)
