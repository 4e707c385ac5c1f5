"""Weights & Biases in offline mode (`ROOT/wandb`; `wandb sync` uploads it later): a sweep is a group, each
cell a run with its config."""

from __future__ import annotations

from divlab.tracking.base import Run


class WandbRun(Run):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        import os

        import wandb

        mode = os.environ.get("WANDB_MODE", "offline")  # online only when the user says so
        self.root.mkdir(parents=True, exist_ok=True)
        self.run = wandb.init(project=self.experiment.replace("/", "-"), group=self.group, name=self.run_name,
                              dir=str(self.root), mode=mode, reinit="create_new")

    def log_params(self, params: dict) -> None:
        self.run.config.update(params, allow_val_change=True)

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        # W&B wants one increasing step per run: the x-axis of each namespace (train/: steps, curve/: examples
        # seen) goes in as a value of its own, to plot against
        axes = {f"{name.split('/')[0]}/x": step for name in metrics}
        self.run.log({**metrics, **axes})

    def log_summary(self, summary: dict[str, float]) -> None:
        for name, value in summary.items():
            self.run.summary[f"final/{name}"] = value

    def close(self) -> None:
        self.run.finish()
