"""The first two links the pretrained-LLM kinds share (code-mix, generalist): the cell's mixture, built once
per distinct mix config and shared by cells, then a LoRA fine-tune of the cell's model on it (both resume)."""

from __future__ import annotations

from pathlib import Path

from divlab.experiments.base import cell_dir, shared_dir


def mixture_and_adapter(cell_id: str, config: dict, run_dir: str, threads: int,
                        derived: tuple[str, ...]) -> tuple[Path, dict]:
    """(mixture directory, fine-tuning summary). `derived`: keys `resolve` added to the mix section (counts,
    shares), which are not recipe overrides."""
    from divlab.finetune import FinetuneConfig, finetune
    from divlab.mix import build_mixture, load_recipe

    overrides = {k: v for k, v in config["mix"].items() if k != "recipe" and k not in derived}
    mixture = shared_dir(run_dir, "datasets", {"mix": config["mix"]})
    if not (mixture / "manifest.json").is_file():
        build_mixture(load_recipe(config["mix"]["recipe"], overrides), mixture)
    tuned = finetune(config["model"]["name"], mixture, cell_dir(run_dir, cell_id) / "finetune",
                     FinetuneConfig.from_dict({**config["finetune"], "threads": threads}), progress=False)
    return mixture, tuned
