"""Checkpoints: one Hugging Face GPT-2 directory per model plus the trainer's state, replaced atomically.

A single run's checkpoint is itself a GPT-2 directory (`GPT2LMHeadModel.from_pretrained` loads it); a group's
holds one such directory per member (member-0, member-1, ...).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from divlab.atomic import replace_dir
from divlab.models.stacked import StackedGPT, export_member
from divlab.models.tokenizer import CharTokenizer

STATE_FILE = "trainer_state.pt"


def member_dir(checkpoint: Path, member: int, members: int) -> Path:
    return checkpoint if members == 1 else checkpoint / f"member-{member}"


def save_checkpoint(directory: Path, model: StackedGPT, tokenizer: CharTokenizer, special_ids: dict, state: dict) -> None:
    """Write into a sibling, then swap it in: a kill at any moment leaves the previous or the new one."""
    partial = directory.with_name(directory.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for i in range(model.members):
        target = member_dir(partial, i, model.members)
        export_member(model, i, target, special_ids)
        tokenizer.save(target)
    torch.save(state, partial / STATE_FILE)  # last: a directory holding it is complete
    replace_dir(partial, directory, retired=directory.with_name(directory.name + ".old"))


def load_member_weights(model: StackedGPT, member: int, directory: Path) -> None:
    from safetensors.torch import load_file

    model.load_member_state_dict(member, load_file(directory / "model.safetensors"))


def find_checkpoint(directory: Path) -> Path | None:
    """The newest complete checkpoint, also when a kill fell between the two renames above."""
    for candidate in (directory, directory.with_name(directory.name + ".old")):
        if (candidate / STATE_FILE).is_file():
            return candidate
    return None


def load_state(directory: Path) -> dict:
    return torch.load(directory / STATE_FILE, map_location="cpu", weights_only=False)
