"""Training from scratch on rewrite datasets: config, length-bucketed batches, resumable loop."""

from divlab.train.config import TrainConfig
from divlab.train.loop import RunDirError, train

__all__ = ["RunDirError", "TrainConfig", "train"]
