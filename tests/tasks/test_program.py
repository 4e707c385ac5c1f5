"""The program task (E8): every target is what `divlab markov` computes, the generator agrees with a plain
reference interpreter, k = 1 with a terminating rule is the paper's rewrite-once task, splits are disjoint,
seeds reproduce bytes, and bad configs are refused naming the field."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from divlab.errors import ConfigError
from divlab.markov import MarkovAlgorithm, Rule, format_rule, rewrite_once
from divlab.tasks.program import ProgramConfig, generate_program
from divlab.tasks.program.config import TRACE_SEPARATOR
from divlab.tasks.program.generator import parse_program, program_text, run_example
from tests.conftest import run_cli


def reference_run(rules, text, max_steps):
    """A plain Markov interpreter written from the definition: first applicable rule, leftmost occurrence,
    until a terminating rule fires or none applies; None when max_steps pass without halting."""
    steps = 0
    while True:
        for pattern, replacement, terminating in rules:
            at = text.find(pattern)
            if at >= 0:
                break
        else:
            return text, steps
        if steps == max_steps:
            return None
        text = text[:at] + replacement + text[at + len(pattern):]
        steps += 1
        if terminating:
            return text, steps


def _config(**changes):
    values = dict(num_train_programs=60, num_test_programs=12, budget=600, num_test_examples=120,
                  num_seen_test_examples=60, rules_per_program=[1, 3], terminating_rate=0.3, noop_fraction=0.2)
    values.update(changes)
    return ProgramConfig.from_dict(values)


def _rows(directory, split):
    return [json.loads(line) for line in open(directory / f"{split}.jsonl")]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("program") / "d"
    return out, generate_program(_config(), out, progress=False)


def test_every_target_is_the_engines_and_the_reference_interpreters(dataset):
    out, manifest = dataset
    config = ProgramConfig.from_dict(manifest["config"])
    for split in ("train", "test", "test_seen"):
        for row in _rows(out, split):
            rules = parse_program(row["x"])
            assert program_text(rules) == row["x"]
            result = MarkovAlgorithm(rules).run(row["z"], max_steps=config.max_steps)
            assert result.halted and result.result == row["target"] and result.steps == row["steps"]
            assert reference_run([(r.pattern, r.replacement, r.terminating) for r in rules], row["z"],
                                 config.max_steps) == (row["target"], row["steps"])
            assert row["has_op"] == (row["steps"] > 0)  # a no-op input: no rule applies at all


def test_targets_match_the_divlab_markov_command(dataset, tmp_path):
    out, _ = dataset
    for row in _rows(out, "test")[:5]:
        rules = tmp_path / "rules.txt"
        rules.write_text("\n".join(format_rule(r) for r in parse_program(row["x"])) + "\n")
        assert run_cli("markov", str(rules), row["z"]).stdout.strip() == row["target"]


def test_splits_are_disjoint_and_drops_are_counted(dataset):
    out, manifest = dataset
    train = {json.loads(line)["x"] for line in open(out / "rules_train.jsonl")}
    test = {json.loads(line)["x"] for line in open(out / "rules_test.jsonl")}
    assert len(train) == 60 and len(test) == 12 and not train & test
    assert {r["x"] for r in _rows(out, "test")} == test and {r["x"] for r in _rows(out, "train")} <= train
    assert manifest["splits"]["train"]["no_op"] == 120 and "dropped" in manifest
    assert all(isinstance(v, int) and v >= 0 for v in manifest["dropped"].values())


@given(st.lists(st.tuples(st.text("abc", min_size=1, max_size=2), st.text("abc", max_size=2), st.booleans()),
                min_size=1, max_size=3), st.text("abc", min_size=1, max_size=8))
@settings(max_examples=300, deadline=None)
def test_run_example_agrees_with_the_reference_interpreter(rules, text):
    config = ProgramConfig(alphabet="abc", input_len=(8, 8), max_steps=12, num_train_programs=1, num_test_programs=0,
                           rules_per_program=(1, 1), pattern_len=(1, 1), replacement_len=(1, 1))
    outcome = run_example(MarkovAlgorithm([Rule(*r) for r in rules]), text, config)
    assert outcome == reference_run(rules, text, 12)


def test_one_terminating_rule_is_the_papers_rewrite_once_task(tmp_path):
    config = _config(rules_per_program=1, terminating_rate=1.0, noop_fraction=0.0, num_train_programs=30,
                     num_test_programs=5)
    generate_program(config, tmp_path / "k1", progress=False)
    for row in _rows(tmp_path / "k1", "train"):
        (rule,) = parse_program(row["x"])
        assert rule.terminating and row["target"] == rewrite_once(rule.pattern, rule.replacement, row["z"])
        assert row["steps"] == 1


def test_trace_target_holds_every_intermediate_string(tmp_path):
    generate_program(_config(target="trace"), tmp_path / "t", progress=False)
    for row in _rows(tmp_path / "t", "train")[:200]:
        strings = row["target"].split(TRACE_SEPARATOR)
        assert strings[0] == row["z"] and len(strings) == row["steps"] + 1
        final = MarkovAlgorithm(parse_program(row["x"])).run(row["z"], max_steps=16).result
        assert strings[-1] == final


def test_held_out_shapes_appear_only_in_test_programs(tmp_path):
    config = _config(held_out_shapes=[[2, 1]], pattern_len=[1, 2], replacement_len=[1, 2])
    generate_program(config, tmp_path / "h", progress=False)
    shapes = lambda split: [{(len(r.pattern), len(r.replacement)) for r in parse_program(json.loads(line)["x"])}  # noqa: E731
                            for line in open(tmp_path / "h" / f"rules_{split}.jsonl")]
    assert all((2, 1) not in s for s in shapes("train")) and all((2, 1) in s for s in shapes("test"))


def test_same_seed_same_bytes(tmp_path):
    for name in ("one", "two"):
        generate_program(_config(), tmp_path / name, progress=False)
    for file in ("train.jsonl", "test.jsonl", "test_seen.jsonl", "manifest.json"):
        assert (tmp_path / "one" / file).read_bytes() == (tmp_path / "two" / file).read_bytes()


@pytest.mark.parametrize("changes, field", [
    (dict(max_steps=2, min_steps=3), "max_steps"),
    (dict(alphabet="ab", pattern_len=[1, 1], replacement_len=[1, 1], rules_per_program=1, num_train_programs=60), "alphabet"),
    (dict(pattern_len=[1, 9], input_len=[8, 8]), "pattern_len"),
    (dict(alphabet="ab>c"), "alphabet"),
    (dict(target="steps"), "target"),
])
def test_bad_config_is_refused_naming_the_field(changes, field):
    with pytest.raises(ConfigError) as error:
        _config(**changes)
    assert error.value.field == field and len(str(error.value).splitlines()) == 1
