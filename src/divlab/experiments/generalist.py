"""The generalist experiment (paper §5, Table 3) as a sweep kind: each cell builds a mixture from a recipe
(base data with some of it swapped for, or topped up with, diversifying data), fine-tunes a pretrained model
on it with LoRA, and scores the adapter on an evaluation suite (`divlab.evalsuite`). Every step writes into
the cell's directory and resumes: the mixture, the fine-tune's checkpoints, the suite benchmark by benchmark.

Preset sections: `mix` (`recipe` plus recipe overrides), `model` (`name`), `finetune` (FinetuneConfig
fields), `suite` (`name` of a suite preset plus SuiteConfig overrides). The grid runs over `mix.recipe`.
"""

from __future__ import annotations

import time

from divlab.experiments.base import ExperimentKind, ReportSpec, cell_dir

SECTIONS = ("mix", "model", "finetune", "suite")


DERIVED = ("final_counts", "base", "total")  # what resolve adds to the mix section


def resolve_generalist(config: dict) -> dict:
    from divlab.evalsuite import load_suite
    from divlab.experiments.mixture_chain import resolve_chain

    recipe_name, mix, recipe, model, finetune = resolve_chain(config, DERIVED)
    counts = recipe.final_counts()
    suite_values = dict(config.get("suite", {}))
    suite = load_suite(suite_values.pop("name", "generalist"), suite_values).to_dict()
    return {"kind": "generalist", "mix": {"recipe": recipe_name, **mix, "final_counts": counts, "base": recipe.base,
                                          "total": sum(counts.values())},
            "model": model, "finetune": finetune, "suite": suite}


def run(cell_id: str, config: dict, run_dir: str, threads: int) -> dict:
    """Worker entry point; `sweep.cell.run_cell` records whatever it raises as the cell's failure."""
    from divlab.evalsuite import SuiteConfig, evaluate_suite
    from divlab.experiments.mixture_chain import mixture_and_adapter

    started = time.perf_counter()
    _, tuned = mixture_and_adapter(cell_id, config, run_dir, threads, derived=DERIVED)
    suite_dir = cell_dir(run_dir, cell_id) / "suite"
    scores = evaluate_suite(tuned["adapter"], SuiteConfig.from_dict(config["suite"]), suite_dir)
    if scores is None:  # a launched process other than rank 0: it only answered rank 0's requests
        return {}
    return {
        "counts": config["mix"]["final_counts"], "base": config["mix"]["base"], "total": config["mix"]["total"],
        "finetune": {k: tuned[k] for k in ("steps", "train_loss", "elapsed_s", "examples", "prompt_format")},
        "scores": {name: result.get("score") for name, result in scores["benchmarks"].items()},
        "aggregates": {k: v for k, v in scores["aggregates"].items() if k != "definitions"},
        "partial_data": scores["partial_data"], "not_run": scores["not_run"],
        "wall_s": time.perf_counter() - started, "threads": threads,
    }


KIND = ExperimentKind(
    name="generalist", sections=SECTIONS, seed_fields=("mix.seed", "finetune.seed"), resolve=resolve_generalist,
    run=run,
    reports={"generalist": ReportSpec("divlab.report.generalist:table_3", "divlab.report.generalist:check_table_3")},
    description="mixture -> LoRA fine-tune -> generalist suite (lm-eval + sandbox) (paper §5, Table 3)",
)
