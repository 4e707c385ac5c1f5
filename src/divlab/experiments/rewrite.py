"""The from-scratch rewrite experiments (paper E1-E5) as a sweep kind: each cell generates (or reuses) a
rewrite dataset, trains a small GPT-2 on it from scratch (resuming a killed attempt) and scores exact match
on unseen and seen rules.

Preset sections: `dataset` (task `rewrite` fields), `model` (ModelConfig fields, or `preset = "small"`),
`train` (TrainConfig fields), `eval` (`batch_tokens`). Presets without a `kind` are of this kind.
"""

from __future__ import annotations

import time
from pathlib import Path

from divlab.experiments.base import INSTRUCTIONS_AXIS, ExperimentKind, ReportSpec, cell_dir, check_known, shared_dir

SECTIONS = ("dataset", "model", "train", "eval")
EVAL_DEFAULTS = {"batch_tokens": 16384}
CURVE_LEVELS = (0.5, 0.9)  # unseen-rule accuracies whose first crossing each cell records
# Further test splits a task may write, and the result key each is stored under (algebra: seen rules at
# unseen pattern depths).
EXTRA_SPLITS = {"test_depth": "depth"}
KEEP_RESULT_KEYS = ("examples", "accuracy", "has_op_accuracy", "no_op_accuracy", "by_occurrences")


def resolve(config: dict) -> dict:
    """Validate every section through its typed config and return the complete, canonical values."""
    from divlab.tasks.rewrite.config import RewriteConfig

    return resolve_sections(config, RewriteConfig)


def resolve_sections(config: dict, dataset_class: type) -> dict:
    """The sections of a from-scratch cell, the dataset validated by its task's config class."""
    from divlab.models.gpt import ModelConfig
    from divlab.train.config import TrainConfig

    dataset = dataset_class.from_dict(config.get("dataset", {})).to_dict()
    model_values = dict(config.get("model", {}))
    preset = model_values.pop("preset", None)
    model = (ModelConfig.from_preset(preset, model_values) if preset else ModelConfig.from_dict(model_values)).to_dict()
    train = TrainConfig.from_dict({**config.get("train", {}), "model": model}).to_dict()
    train.pop("model")
    return {"dataset": dataset, "model": model, "train": train, "eval": check_known("eval", config.get("eval", {}), EVAL_DEFAULTS)}


def dataset_dir(run_dir, config: dict):
    """Cells with the same dataset config share one dataset directory."""
    return shared_dir(run_dir, "datasets", {"dataset": config["dataset"]})


def _prepare(cell_id: str, config: dict, run_dir: str, threads: int):
    """Generate (or reuse) the cell's dataset; (dataset dir, cell dir, training config). From-scratch kinds
    are named after the task whose data they train on (rewrite cells carry no kind: their ids predate kinds)."""
    from divlab.models.gpt import ModelConfig
    from divlab.tasks import get_task
    from divlab.train import TrainConfig

    dataset, trained = dataset_dir(run_dir, config), cell_dir(run_dir, cell_id)
    dataset.parent.mkdir(parents=True, exist_ok=True)
    task = get_task(config.get("kind", "rewrite"))
    task.generate(task.config_class.from_dict(config["dataset"]), dataset, progress=False)
    train_config = TrainConfig.from_dict({**config["train"], "model": ModelConfig(**config["model"]), "threads": threads})
    return dataset, trained, train_config


def _result(config: dict, dataset, trained, summary: dict, started: float, threads: int) -> dict:
    """Score the trained cell on unseen and seen rules; the cell's result row."""
    from divlab.diversity.summary import training_set_diversity
    from divlab.evaluate import evaluate_run
    from divlab.train.curves import examples_to, learning_curve

    from divlab.data.directory import read_manifest

    extra = [name for name in EXTRA_SPLITS if name in read_manifest(dataset)["splits"]]
    metrics = evaluate_run(trained, dataset, splits=("test", "test_seen", *extra),
                           batch_tokens=config["eval"]["batch_tokens"], progress=False)
    curve = [[row["examples_seen"], row["unseen_accuracy"], row["seen_accuracy"]] for row in learning_curve(trained)]
    return {
        "unseen": _compact(metrics["test"]),
        "seen": _compact(metrics["test_seen"]),
        **{EXTRA_SPLITS[name]: _compact(metrics[name]) for name in extra},
        "train": {k: summary.get(k) for k in ("steps", "epochs", "examples_seen", "tokens_seen", "final_loss",
                                              "elapsed_s", "tokens_per_s", "group_size")},
        "diversity": training_set_diversity(dataset),
        "curve": curve,  # [examples seen, unseen-rule, seen-rule exact match] every train.eval_every steps
        "examples_to": {str(level): examples_to(curve, level) for level in CURVE_LEVELS},
        "wall_s": time.perf_counter() - started,
        "threads": threads,
    }


def run(cell_id: str, config: dict, run_dir: str, threads: int) -> dict:
    """Generate (or reuse) the dataset, train from scratch (resuming), evaluate."""
    import torch

    from divlab.train import train

    torch.set_num_threads(threads)
    started = time.perf_counter()
    dataset, trained, train_config = _prepare(cell_id, config, run_dir, threads)
    summary = train(dataset, trained, train_config, progress=False)
    return _result(config, dataset, trained, summary, started, threads)


def group_key(config: dict) -> dict:
    """What the cells of one batched group share: everything but their data and seed."""
    return {"model": config["model"], "train": {k: v for k, v in config["train"].items() if k != "seed"},
            "eval": config["eval"]}


def run_group(jobs: list, run_dir: str, threads: int) -> dict:
    """Several cells trained as one batched model (divlab.train.train_group); {cell_id: outcome}. A cell whose
    dataset cannot be made, or whose loss stops being finite, fails alone."""
    import traceback

    import torch

    from divlab.experiments.base import config_hash
    from divlab.train.loop import train_group

    torch.set_num_threads(threads)
    started = time.perf_counter()
    outcomes, members = {}, []
    for cell_id, config in jobs:
        try:
            members.append((cell_id, config, *_prepare(cell_id, config, run_dir, threads)))
        except Exception:  # noqa: BLE001 - this cell fails, the group goes on without it
            outcomes[cell_id] = {"ok": False, "error": traceback.format_exc()}
    if members:
        group_dir = Path(run_dir) / "groups" / config_hash(sorted(m[0] for m in members))
        trained = train_group([(dataset, cell, train_config) for _, _, dataset, cell, train_config in members],
                              group_dir, progress=False)
        for (cell_id, config, dataset, cell, _), outcome in zip(members, trained):
            if not outcome["ok"]:
                outcomes[cell_id] = {"ok": False, "error": outcome["error"]}
                continue
            try:
                outcomes[cell_id] = {"ok": True, "result": _result(config, dataset, cell, outcome["summary"], started, threads)}
            except Exception:  # noqa: BLE001
                outcomes[cell_id] = {"ok": False, "error": traceback.format_exc()}
    return outcomes


def _compact(metrics: dict) -> dict:
    out = {k: metrics[k] for k in KEEP_RESULT_KEYS}
    out["per_rule"] = {k: metrics["per_rule"][k] for k in ("rules", "mean", "quantiles", "fully_correct_rules")}
    return out


def _report(name: str, *axes: str) -> ReportSpec:
    return ReportSpec(f"divlab.report.rewrite:{name}", f"divlab.report.verdicts:{name}", (INSTRUCTIONS_AXIS, *axes))


KIND = ExperimentKind(
    name="rewrite", sections=SECTIONS, seed_fields=("dataset.seed", "train.seed"), resolve=resolve, run=run,
    reports={"e1": _report("e1"), "e2": _report("e2", "dataset.noop_fraction"), "e3": _report("e3", "shape"),
             "e4": _report("e4", "constraint"), "e5": _report("e5", "occurrences"),
             "study": ReportSpec("divlab.report.curves:study", "divlab.report.curves:verdict")},
    group_key=group_key, run_group=run_group,
    description="a GPT-2 trained from scratch on single-rule rewriting, scored on unseen rules (paper E1-E5)",
)
