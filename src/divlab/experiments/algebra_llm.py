"""E7 as the paper ran it (§2.7): LoRA fine-tuning of a pretrained LLM (Mistral-7B in the paper) on the
algebra task's prompt/completion rows (infix notation), scored by greedy exact match on unseen rules, seen
rules and, for the specialist split, seen rules at unseen pattern depths.

Preset sections: `dataset` (task `algebra` fields, with `prompt` set), `model` (`name`), `finetune`, `eval`.
"""

from __future__ import annotations

from divlab.errors import ConfigError
from divlab.experiments import encrypted
from divlab.experiments.base import INSTRUCTIONS_AXIS, ExperimentKind, ReportSpec, check_known


def resolve(config: dict) -> dict:
    from divlab.finetune import FinetuneConfig
    from divlab.tasks.algebra import AlgebraConfig

    dataset = AlgebraConfig.from_dict(config.get("dataset", {}))
    if dataset.prompt is None:
        raise ConfigError("dataset.prompt", None, "a pretrained LLM reads a prompt: give a template with {x}, {y}, {z}")
    model = dict(config.get("model", {}))
    if not isinstance(model.get("name"), str):
        raise ConfigError("model.name", model.get("name"), "give the pretrained model (hub id, directory, alias)")
    return {"kind": "algebra-llm", "dataset": dataset.to_dict(), "model": model,
            "finetune": FinetuneConfig.from_dict(config.get("finetune", {})).to_dict(),
            "eval": check_known("eval", config.get("eval", {}), encrypted.EVAL_DEFAULTS)}


def run(cell_id: str, config: dict, run_dir: str, threads: int) -> dict:
    from divlab.tasks.algebra import AlgebraConfig, generate_algebra

    dataset_config = AlgebraConfig.from_dict(config["dataset"])

    def make_dataset(directory):
        generate_algebra(dataset_config, directory, progress=False)

    splits = [("unseen", "test"), ("seen", "test_seen")]
    if dataset_config.test_pattern_depth is not None:
        splits.append(("depth", "test_depth"))
    return encrypted.run_llm_cell(cell_id, config, run_dir, threads, make_dataset, splits)


KIND = ExperimentKind(
    name="algebra-llm", sections=encrypted.SECTIONS, seed_fields=encrypted.KIND.seed_fields, resolve=resolve, run=run,
    reports={"e7": ReportSpec("divlab.report.algebra:generalist", "divlab.report.algebra:check_generalist",
                              (INSTRUCTIONS_AXIS,)),
             "e7-specialist": ReportSpec("divlab.report.algebra:specialist", "divlab.report.algebra:check_specialist",
                                         ())},  # reads diver_rules from each cell's config
    description="LoRA fine-tuning of a pretrained LLM on algebraic identities (paper E7)",
)
