"""Checkpoints: a Hugging Face GPT-2 directory plus the trainer's state, replaced atomically."""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from divlab.atomic import replace_dir
from divlab.models.tokenizer import CharTokenizer

STATE_FILE = "trainer_state.pt"


def save_model_dir(model, tokenizer: CharTokenizer, directory: Path) -> None:
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save(directory)


def save_checkpoint(directory: Path, model, tokenizer: CharTokenizer, state: dict) -> None:
    """Write into a sibling, then swap it in: a kill at any moment leaves the previous or the new one."""
    partial = directory.with_name(directory.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    save_model_dir(model, tokenizer, partial)
    torch.save(state, partial / STATE_FILE)
    replace_dir(partial, directory, retired=directory.with_name(directory.name + ".old"))


def find_checkpoint(directory: Path) -> Path | None:
    """The newest complete checkpoint, also when a kill fell between the two renames above."""
    for candidate in (directory, directory.with_name(directory.name + ".old")):
        if (candidate / STATE_FILE).is_file() and (candidate / "config.json").is_file():
            return candidate
    return None


def load_state(directory: Path) -> dict:
    return torch.load(directory / STATE_FILE, map_location="cpu", weights_only=False)
