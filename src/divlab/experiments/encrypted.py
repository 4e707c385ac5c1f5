"""E6 (paper §2.6) as a sweep kind: generate encrypted-rewriting data for a number of instructions,
LoRA-fine-tune a pretrained LLM on it, and measure greedy exact match on unseen rules (has-op and no-op
separately: the paper's models trained on few instructions solve only the no-op cases) and on seen rules.

Preset sections: `dataset` (task `encrypted` fields), `model` (`name`), `finetune`, `eval` (`limit`,
`batch_size`). The grid runs over `dataset.num_train_rules`.
"""

from __future__ import annotations

import time

from divlab.errors import ConfigError
from divlab.experiments.base import INSTRUCTIONS_AXIS, ExperimentKind, ReportSpec, cell_dir, check_known, shared_dir

SECTIONS = ("dataset", "model", "finetune", "eval")
EVAL_DEFAULTS = {"limit": 0, "batch_size": 16}


def resolve_encrypted(config: dict) -> dict:
    from divlab.finetune import FinetuneConfig
    from divlab.tasks.encrypted import EncryptedConfig

    model = dict(config.get("model", {}))
    if not isinstance(model.get("name"), str):
        raise ConfigError("model.name", model.get("name"), "give the pretrained model (hub id, directory, alias)")
    evaluation = check_known("eval", config.get("eval", {}), EVAL_DEFAULTS)
    return {"kind": "encrypted", "dataset": EncryptedConfig.from_dict(config.get("dataset", {})).to_dict(),
            "model": model, "finetune": FinetuneConfig.from_dict(config.get("finetune", {})).to_dict(),
            "eval": evaluation}


def run(cell_id: str, config: dict, run_dir: str, threads: int) -> dict:
    """Worker entry point; `sweep.cell.run_cell` records whatever it raises as the cell's failure."""
    from divlab.tasks.encrypted import EncryptedConfig, generate_encrypted

    def make_dataset(directory):
        generate_encrypted(EncryptedConfig.from_dict(config["dataset"]), directory, progress=False)

    return run_llm_cell(cell_id, config, run_dir, threads, make_dataset, (("unseen", "test"), ("seen", "test_seen")))


def run_llm_cell(cell_id: str, config: dict, run_dir: str, threads: int, make_dataset, splits) -> dict:
    """Make the cell's prompt/completion dataset, LoRA-fine-tune the pretrained model on it, score greedy
    exact match on each (result key, split) of SPLITS."""
    from divlab.evaluate.generation import evaluate_generation
    from divlab.finetune import FinetuneConfig, finetune

    started = time.perf_counter()
    dataset = shared_dir(run_dir, "datasets", {"dataset": config["dataset"]})
    make_dataset(dataset)
    tuned = finetune(config["model"]["name"], dataset, cell_dir(run_dir, cell_id) / "finetune",
                     FinetuneConfig.from_dict({**config["finetune"], "threads": threads}), progress=False)
    device = tuned["device"]
    scores = {name: evaluate_generation(tuned["adapter"], dataset, split, tuned["prompt_format"],
                                        limit=config["eval"]["limit"], batch_size=config["eval"]["batch_size"],
                                        device=device)
              for name, split in splits}
    return {**scores, "finetune": {k: tuned[k] for k in ("steps", "train_loss", "elapsed_s", "examples")},
            "wall_s": time.perf_counter() - started, "threads": threads}


KIND = ExperimentKind(
    name="encrypted", sections=SECTIONS, seed_fields=("dataset.seed", "finetune.seed"), resolve=resolve_encrypted,
    run=run, reports={"e6": ReportSpec("divlab.report.llm:e6", "divlab.report.llm:check_e6", (INSTRUCTIONS_AXIS,))},
    description="LoRA fine-tuning of a pretrained LLM on encrypted rewriting, scored on unseen rules (paper E6)",
)
