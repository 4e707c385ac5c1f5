"""Running one cell: generate (or reuse) its dataset, train (resuming a killed attempt), evaluate."""

from __future__ import annotations

import os
import time
import traceback
from pathlib import Path

KEEP_RESULT_KEYS = ("examples", "accuracy", "has_op_accuracy", "no_op_accuracy", "by_occurrences")


def _compact(metrics: dict) -> dict:
    out = {k: metrics[k] for k in KEEP_RESULT_KEYS}
    out["per_rule"] = {k: metrics["per_rule"][k] for k in ("rules", "mean", "quantiles", "fully_correct_rules")}
    return out


def run_cell(cell_id: str, config: dict, run_dir: str, threads: int) -> dict:
    """Worker entry point (a separate process, or a Ray task): runs the cell with its kind's runner.
    Returns {'ok': bool, ...}; never raises."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        import importlib

        from divlab.experiments.spec import kind_of

        module, _, function = kind_of(config).runner.partition(":")
        return getattr(importlib.import_module(module), function)(cell_id, config, run_dir, threads)
    except BaseException:  # noqa: BLE001 - a failing cell is recorded, the sweep goes on
        return {"ok": False, "error": traceback.format_exc()}


def run_rewrite_cell(cell_id: str, config: dict, run_dir: str, threads: int) -> dict:
    """Generate (or reuse) the rewrite dataset, train from scratch (resuming), evaluate."""
    try:
        import torch

        torch.set_num_threads(threads)
        from divlab.evaluate import evaluate_run
        from divlab.models.gpt import ModelConfig
        from divlab.sweep.paths import cell_paths
        from divlab.tasks.rewrite import RewriteConfig, generate_rewrite
        from divlab.train import TrainConfig, train

        started = time.perf_counter()
        paths = cell_paths(Path(run_dir), cell_id, config)
        paths["dataset"].parent.mkdir(parents=True, exist_ok=True)
        generate_rewrite(RewriteConfig.from_dict(config["dataset"]), paths["dataset"], progress=False)
        train_config = TrainConfig.from_dict({**config["train"], "model": ModelConfig(**config["model"]), "threads": threads})
        summary = train(paths["dataset"], paths["run"], train_config, progress=False)
        metrics = evaluate_run(paths["run"], paths["dataset"], batch_tokens=config["eval"]["batch_tokens"], progress=False)
        return {
            "ok": True,
            "result": {
                "unseen": _compact(metrics["test"]),
                "seen": _compact(metrics["test_seen"]),
                "train": {k: summary[k] for k in ("steps", "epochs", "tokens_seen", "final_loss", "elapsed_s", "tokens_per_s")},
                "wall_s": time.perf_counter() - started,
                "threads": threads,
            },
        }
    except BaseException:  # noqa: BLE001 - a failing cell is recorded, the sweep goes on
        return {"ok": False, "error": traceback.format_exc()}
