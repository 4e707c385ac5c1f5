"""Instruction mixtures: sources in their own formats -> one prompt/completion schema -> exact-count recipes."""

from divlab.mix.recipe import Recipe, RecipeError, build_mixture, load_recipe
from divlab.mix.sources import ADAPTERS, Example, SourceError, load_source

__all__ = ["ADAPTERS", "Example", "Recipe", "RecipeError", "SourceError", "build_mixture", "load_recipe",
           "load_source"]
