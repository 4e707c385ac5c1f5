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


def resolve_chain(config: dict, derived: tuple[str, ...]):
    """The sections the chain's kinds share, validated: (recipe name, recipe overrides, the recipe, model
    section, finetune section). `derived`: keys a kind's `resolve` adds to the mix section (dropped here, so
    that resolving a resolved config gives it back)."""
    from divlab.errors import ConfigError
    from divlab.finetune import FinetuneConfig
    from divlab.mix import RecipeError, load_recipe

    mix = dict(config.get("mix", {}))
    if "recipe" not in mix:
        raise ConfigError("mix.recipe", None, "name the recipe (file or shipped name) the mixture is built from")
    recipe_name = mix.pop("recipe")
    for name in derived:
        mix.pop(name, None)
    try:
        recipe = load_recipe(recipe_name, mix)
    except RecipeError as error:
        raise ConfigError("mix", recipe_name, str(error)) from None
    model = dict(config.get("model", {}))
    if not isinstance(model.get("name"), str):
        raise ConfigError("model.name", model.get("name"), "give the pretrained model (hub id, directory, alias)")
    finetune = FinetuneConfig.from_dict(config.get("finetune", {})).to_dict()
    return recipe_name, mix, recipe, model, finetune
