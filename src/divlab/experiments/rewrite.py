"""The from-scratch rewrite experiments (paper E1-E5) as a sweep kind: each cell generates (or reuses) a
rewrite dataset, trains a small GPT-2 on it from scratch (resuming a killed attempt) and scores exact match
on unseen and seen rules.

Preset sections: `dataset` (task `rewrite` fields), `model` (ModelConfig fields, or `preset = "small"`),
`train` (TrainConfig fields), `eval` (`batch_tokens`). Presets without a `kind` are of this kind.
"""

from __future__ import annotations

import time

from divlab.experiments.base import INSTRUCTIONS_AXIS, ExperimentKind, ReportSpec, cell_dir, check_known, shared_dir

SECTIONS = ("dataset", "model", "train", "eval")
EVAL_DEFAULTS = {"batch_tokens": 16384}
KEEP_RESULT_KEYS = ("examples", "accuracy", "has_op_accuracy", "no_op_accuracy", "by_occurrences")


def resolve(config: dict) -> dict:
    """Validate every section through its typed config and return the complete, canonical values."""
    from divlab.models.gpt import ModelConfig
    from divlab.tasks.rewrite.config import RewriteConfig
    from divlab.train.config import TrainConfig

    dataset = RewriteConfig.from_dict(config.get("dataset", {})).to_dict()
    model_values = dict(config.get("model", {}))
    preset = model_values.pop("preset", None)
    model = (ModelConfig.from_preset(preset, model_values) if preset else ModelConfig.from_dict(model_values)).to_dict()
    train = TrainConfig.from_dict({**config.get("train", {}), "model": model}).to_dict()
    train.pop("model")
    return {"dataset": dataset, "model": model, "train": train, "eval": check_known("eval", config.get("eval", {}), EVAL_DEFAULTS)}


def dataset_dir(run_dir, config: dict):
    """Cells with the same dataset config share one dataset directory."""
    return shared_dir(run_dir, "datasets", {"dataset": config["dataset"]})


def run(cell_id: str, config: dict, run_dir: str, threads: int) -> dict:
    """Generate (or reuse) the dataset, train from scratch (resuming), evaluate."""
    import torch

    from divlab.diversity.summary import training_set_diversity
    from divlab.evaluate import evaluate_run
    from divlab.models.gpt import ModelConfig
    from divlab.tasks.rewrite import RewriteConfig, generate_rewrite
    from divlab.train import TrainConfig, train

    torch.set_num_threads(threads)
    started = time.perf_counter()
    dataset, trained = dataset_dir(run_dir, config), cell_dir(run_dir, cell_id)
    dataset.parent.mkdir(parents=True, exist_ok=True)
    generate_rewrite(RewriteConfig.from_dict(config["dataset"]), dataset, progress=False)
    train_config = TrainConfig.from_dict({**config["train"], "model": ModelConfig(**config["model"]), "threads": threads})
    summary = train(dataset, trained, train_config, progress=False)
    metrics = evaluate_run(trained, dataset, batch_tokens=config["eval"]["batch_tokens"], progress=False)
    return {
        "unseen": _compact(metrics["test"]),
        "seen": _compact(metrics["test_seen"]),
        "train": {k: summary[k] for k in ("steps", "epochs", "tokens_seen", "final_loss", "elapsed_s", "tokens_per_s")},
        "diversity": training_set_diversity(dataset),
        "wall_s": time.perf_counter() - started,
        "threads": threads,
    }


def _compact(metrics: dict) -> dict:
    out = {k: metrics[k] for k in KEEP_RESULT_KEYS}
    out["per_rule"] = {k: metrics["per_rule"][k] for k in ("rules", "mean", "quantiles", "fully_correct_rules")}
    return out


def _report(name: str, *axes: str) -> ReportSpec:
    return ReportSpec(f"divlab.report.rewrite:{name}", f"divlab.report.verdicts:{name}", (INSTRUCTIONS_AXIS, *axes))


KIND = ExperimentKind(
    name="rewrite", sections=SECTIONS, seed_fields=("dataset.seed", "train.seed"), resolve=resolve, run=run,
    reports={"e1": _report("e1"), "e2": _report("e2", "dataset.noop_fraction"), "e3": _report("e3", "shape"),
             "e4": _report("e4", "constraint"), "e5": _report("e5", "occurrences")},
    description="a GPT-2 trained from scratch on single-rule rewriting, scored on unseen rules (paper E1-E5)",
)
