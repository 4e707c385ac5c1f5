"""TensorBoard: event files under the run directory (`tensorboard --logdir RUN/tensorboard`), written by
torch's SummaryWriter. Parameters go in as hparams with the final results as their metrics, so TensorBoard's
HParams tab compares the cells of a sweep."""

from __future__ import annotations

import json

from divlab.tracking.base import Run


class TensorBoardRun(Run):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(self.tensorboard_dir))
        self.params: dict = {}

    def log_params(self, params: dict) -> None:
        self.params.update(params)
        # the full config, readable as text (hparams accept scalars only)
        self.writer.add_text("config", "```\n" + json.dumps(params, indent=1, default=str) + "\n```", 0)

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        for name, value in metrics.items():
            self.writer.add_scalar(name, value, step)

    def log_summary(self, summary: dict[str, float]) -> None:
        for name, value in summary.items():
            self.writer.add_scalar(f"final/{name}", value, 0)
        hparams = {k: v if isinstance(v, (int, float, str, bool)) else json.dumps(v) for k, v in self.params.items()
                   if v is not None}
        self.writer.add_hparams(hparams, {f"hparam/{k}": v for k, v in summary.items()}, run_name=".")

    def close(self) -> None:
        self.writer.close()
