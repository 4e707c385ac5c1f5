"""Final results of commands that have no training loop to hook (a suite evaluation) as one tracked run."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence


def log_scores(names: Sequence[str], model: str, config, scores: dict, out_dir: str | Path) -> None:
    """A suite evaluation as a run of the experiment `divlab-evaluate/<suite>`: the suite and model as
    parameters; each benchmark's score and metrics and the paper's aggregates as final results."""
    if not names:
        return
    from divlab.tracking import start_run

    results = {name: {"score": r.get("score"), **{f"metrics.{k}": v for k, v in (r.get("metrics") or {}).items()}}
               for name, r in scores["benchmarks"].items()}
    aggregates = {k: v for k, v in scores.get("aggregates", {}).items() if k != "missing"}
    run = start_run(names, experiment=f"divlab-evaluate/{config.name}", run_name=Path(str(model)).name or str(model),
                    root=out_dir, params={"model": model, "suite": config.to_dict()},
                    tensorboard_dir=Path(out_dir) / "tensorboard")
    try:
        run.log_summary({"benchmarks": results, "aggregates": aggregates})
    finally:
        run.close()
