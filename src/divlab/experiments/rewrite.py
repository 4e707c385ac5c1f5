"""The from-scratch rewrite experiments (paper E1-E5) as a sweep kind: each cell generates (or reuses) a
rewrite dataset, trains a small GPT-2 on it from scratch (resuming a killed attempt) and scores exact match
on unseen and seen rules.

Preset sections: `dataset` (task `rewrite` fields), `model` (ModelConfig fields, or `preset = "small"`),
`train` (TrainConfig fields), `eval` (`batch_tokens`). Presets without a `kind` are of this kind.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

from divlab.experiments.base import INSTRUCTIONS_AXIS, ExperimentKind, ReportSpec, cell_dir, check_known, shared_dir

SECTIONS = ("dataset", "model", "train", "eval")
SEED_FIELDS = ("dataset.seed", "train.seed")
EVAL_DEFAULTS = {"batch_tokens": 16384}
CURVE_LEVELS = (0.5, 0.9)  # unseen-rule accuracies whose first crossing each cell records
KEEP_RESULT_KEYS = ("examples", "accuracy", "has_op_accuracy", "no_op_accuracy")  # and every by_<field> breakdown


def from_scratch_kind(name: str, task: str, reports: dict[str, ReportSpec], description: str = "", *,
                      tag_cells: bool = True) -> ExperimentKind:
    """The kind that trains a small GPT-2 from scratch on `task` (a task with character rows, by name or
    "module:attr") and scores it on unseen and seen rules, plus the task's extra splits. Cells carry
    `kind = name` (`tag_cells`; rewrite cells carry none: their ids predate kinds)."""
    def resolve(config: dict) -> dict:
        from divlab.tasks import get_task

        sections = resolve_sections(config, get_task(task).config_class)
        return {"kind": name, **sections} if tag_cells else sections

    return ExperimentKind(name=name, sections=SECTIONS, seed_fields=SEED_FIELDS, resolve=resolve,
                          run=partial(run, task), run_group=partial(run_group, task), group_key=group_key,
                          reports=reports, description=description)


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


def _prepare(task_name: str, cell_id: str, config: dict, run_dir: str, threads: int):
    """Generate (or reuse) the cell's dataset; (dataset dir, cell dir, training config)."""
    from divlab.models.gpt import ModelConfig
    from divlab.tasks import get_task
    from divlab.train import TrainConfig

    dataset, trained = dataset_dir(run_dir, config), cell_dir(run_dir, cell_id)
    dataset.parent.mkdir(parents=True, exist_ok=True)
    task = get_task(task_name)
    task.generate(task.config_class.from_dict(config["dataset"]), dataset, progress=False)
    train_config = TrainConfig.from_dict({**config["train"], "model": ModelConfig(**config["model"]), "threads": threads})
    return dataset, trained, train_config


def _result(task_name: str, config: dict, dataset, trained, summary: dict, started: float, threads: int) -> dict:
    """Score the trained cell on unseen and seen rules (and the task's extra splits); the cell's result row."""
    from divlab.data.directory import read_manifest
    from divlab.diversity.summary import training_set_diversity
    from divlab.evaluate import evaluate_run
    from divlab.tasks import get_task
    from divlab.train.curves import examples_to, learning_curve

    extra_splits = get_task(task_name).extra_splits
    extra = [name for name in extra_splits if name in read_manifest(dataset)["splits"]]
    metrics = evaluate_run(trained, dataset, splits=("test", "test_seen", *extra),
                           batch_tokens=config["eval"]["batch_tokens"], progress=False)
    curve = [[row["examples_seen"], row["unseen_accuracy"], row["seen_accuracy"]] for row in learning_curve(trained)]
    return {
        "unseen": _compact(metrics["test"]),
        "seen": _compact(metrics["test_seen"]),
        **{extra_splits[name]: _compact(metrics[name]) for name in extra},
        "train": {k: summary.get(k) for k in ("steps", "epochs", "examples_seen", "tokens_seen", "final_loss",
                                              "elapsed_s", "tokens_per_s", "group_size")},
        "diversity": training_set_diversity(dataset),
        "curve": curve,  # [examples seen, unseen-rule, seen-rule exact match] every train.eval_every steps
        "examples_to": {str(level): examples_to(curve, level) for level in CURVE_LEVELS},
        "wall_s": time.perf_counter() - started,
        "threads": threads,
    }


def run(task: str, cell_id: str, config: dict, run_dir: str, threads: int) -> dict:
    """Generate (or reuse) the dataset, train from scratch (resuming), evaluate."""
    import torch

    from divlab.train import train

    torch.set_num_threads(threads)
    started = time.perf_counter()
    dataset, trained, train_config = _prepare(task, cell_id, config, run_dir, threads)
    summary = train(dataset, trained, train_config, progress=False)
    return _result(task, config, dataset, trained, summary, started, threads)


def group_key(config: dict) -> dict:
    """What the cells of one batched group share: everything but their data and seed."""
    return {"model": config["model"], "train": {k: v for k, v in config["train"].items() if k != "seed"},
            "eval": config["eval"]}


def run_group(task: str, jobs: list, run_dir: str, threads: int) -> dict:
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
            members.append((cell_id, config, *_prepare(task, cell_id, config, run_dir, threads)))
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
                outcomes[cell_id] = {"ok": True, "result": _result(task, config, dataset, cell, outcome["summary"], started, threads)}
            except Exception:  # noqa: BLE001
                outcomes[cell_id] = {"ok": False, "error": traceback.format_exc()}
    return outcomes


def _compact(metrics: dict) -> dict:
    out = {k: v for k, v in metrics.items() if k in KEEP_RESULT_KEYS or k.startswith("by_")}
    out["per_rule"] = {k: metrics["per_rule"][k] for k in ("rules", "mean", "quantiles", "fully_correct_rules")}
    return out


def _report(name: str, *axes: str) -> ReportSpec:
    return ReportSpec(f"divlab.report.rewrite:{name}", f"divlab.report.verdicts:check_{name}", (INSTRUCTIONS_AXIS, *axes))


STUDY = ReportSpec("divlab.report.curves:study", "divlab.report.curves:check_study")  # any from-scratch kind's curves

KIND = from_scratch_kind(
    "rewrite", "rewrite", tag_cells=False,
    reports={"e1": _report("e1"), "e2": _report("e2", "dataset.noop_fraction"), "e3": _report("e3", "shape"),
             "e4": _report("e4", "constraint"), "e5": _report("e5", "occurrences"), "study": STUDY},
    description="a GPT-2 trained from scratch on single-rule rewriting, scored on unseen rules (paper E1-E5)",
)
resolve = KIND.resolve
