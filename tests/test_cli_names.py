"""Command names say which evaluation is which (old names still work), and `--set` is split into sections
one way for every command."""

import pytest

from divlab.cli import COMMANDS, build_parser, sectioned
from divlab.errors import UsageError


@pytest.mark.parametrize("new,old", [("eval-exact", "eval"), ("eval-suite", "evaluate")])
def test_renamed_commands_keep_their_old_names(new, old, capsys):
    for name in (new, old):
        with pytest.raises(SystemExit):
            build_parser([name, "--help"]).parse_args([name, "--help"])
        assert f"usage: divlab {new}" in capsys.readouterr().out
    assert old in COMMANDS[new].aliases and old not in COMMANDS


def test_set_values_are_split_into_sections_one_way():
    values = {"n_layer": 2, "model.n_embd": 8, "train.lr": 0.1}
    assert sectioned(values, ("model", "train"), default="train") == {
        "model": {"n_embd": 8}, "train": {"n_layer": 2, "lr": 0.1}}
    assert sectioned({"limit": 3, "data.gsm8k": "f.jsonl"}) == {"limit": 3, "data": {"gsm8k": "f.jsonl"}}
    with pytest.raises(UsageError, match="sections here are model, train"):
        sectioned({"optim.lr": 1}, ("model", "train"), default="train")
