"""MLflow: by default a file store (`ROOT/mlruns`, beside a sweep's results.sqlite; `mlflow ui --backend-store-uri
ROOT/mlruns` shows it) through MLflow's own client. A sweep is one experiment; each cell a run tagged with
the sweep, its full config as parameters."""

from __future__ import annotations

import json

from divlab.tracking.base import Run

MAX_PARAM = 6000  # MLflow's limit on a parameter's value


class MlflowRun(Run):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        import os

        from mlflow.tracking import MlflowClient

        # MLFLOW_TRACKING_URI (a server, a database) wins; else the file store, which MLflow 3 keeps in
        # maintenance mode behind this switch: it takes runs from several worker processes without locking.
        self.uri = os.environ.get("MLFLOW_TRACKING_URI") or (self.root / "mlruns").resolve().as_uri()
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self.client = MlflowClient(tracking_uri=self.uri)
        found = self.client.get_experiment_by_name(self.experiment)
        if found is not None:
            experiment_id = found.experiment_id
        else:
            try:
                experiment_id = self.client.create_experiment(self.experiment)
            except Exception:  # noqa: BLE001 - another worker created it meanwhile
                experiment_id = self.client.get_experiment_by_name(self.experiment).experiment_id
        tags = {"divlab.group": self.group} if self.group else {}
        self.run_id = self.client.create_run(experiment_id, run_name=self.run_name, tags=tags).info.run_id

    def log_params(self, params: dict) -> None:
        from mlflow.entities import Param

        values = [Param(k, (v if isinstance(v, str) else json.dumps(v, sort_keys=True))[:MAX_PARAM])
                  for k, v in params.items()]
        for start in range(0, len(values), 100):  # MLflow takes at most 100 parameters per batch
            self.client.log_batch(self.run_id, params=values[start:start + 100])

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(k, v, now, step) for k, v in metrics.items()])

    def log_summary(self, summary: dict[str, float]) -> None:
        self.log_metrics({f"final/{k}": v for k, v in summary.items()}, 0)

    def close(self) -> None:
        self.client.set_terminated(self.run_id)
