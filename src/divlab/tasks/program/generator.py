"""Writes a program dataset directory: whole Markov algorithms as instructions, run by divlab's engine
(divlab.markov) on each input until they halt. Rows use the rewrite task's fields so that the from-scratch
trainer and evaluator read them unchanged: x is the program ("ab>ba;c>.d"), y is empty, z the input and
target the halted string (or the trace). Same config and seed give byte-identical files.

Sampling:
- programs: k rules, each pattern of |pattern| letters (markers allowed after the first rule, which uses
  letters only so that something can fire), replacement over letters and markers, terminating at the stated
  rate. Test programs are drawn first; training programs are distinct from them (checked). A program that
  halts within `max_steps` with `min_steps` firing steps on none of PROBE_INPUTS planted inputs is dropped and
  counted in the manifest.
- has-op inputs: random letters with the pattern of a random letter-only rule planted; inputs on which the
  program does not halt within `max_steps`, or fires fewer than `min_steps` rewrites, are drawn again and
  counted. No-op inputs hold no pattern of the program.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from divlab.data.directory import existing_dataset
from divlab.data.writer import DatasetWriter, new_manifest, write_dataset
from divlab.errors import ConfigError
from divlab.markov import MarkovAlgorithm, Rule
from divlab.seeding import stream
from divlab.tasks.program.config import ARROW, SEPARATOR, TERMINATES, TRACE_SEPARATOR, ProgramConfig

CHUNK = 4096
PROBE_INPUTS = 16
MAX_REDRAWS = 200


def program_text(rules: tuple[Rule, ...]) -> str:
    return SEPARATOR.join(f"{r.pattern}{ARROW}{TERMINATES if r.terminating else ''}{r.replacement}" for r in rules)


def parse_program(text: str) -> tuple[Rule, ...]:
    rules = []
    for part in text.split(SEPARATOR):
        pattern, _, replacement = part.partition(ARROW)
        terminating = replacement.startswith(TERMINATES)
        rules.append(Rule(pattern, replacement[1:] if terminating else replacement, terminating))
    return tuple(rules)


def _letters(rng, symbols: str, count: int) -> str:
    return "".join(symbols[i] for i in rng.integers(0, len(symbols), size=count))


def _length(rng, bounds) -> int:
    return int(rng.integers(bounds[0], bounds[1] + 1))


def _random_program(rng, config: ProgramConfig, shapes_allowed) -> tuple[Rule, ...]:
    rules = []
    for index in range(_length(rng, config.rules_per_program)):
        while True:
            shape = (_length(rng, config.pattern_len), _length(rng, config.replacement_len))
            if shapes_allowed(shape):
                break
        pattern_symbols = config.alphabet if index == 0 or not config.markers else config.alphabet + config.markers
        rules.append(Rule(_letters(rng, pattern_symbols, shape[0]), _letters(rng, config.alphabet + config.markers, shape[1]),
                          bool(rng.random() < config.terminating_rate)))
    return tuple(rules)


def _planted_input(rng, config: ProgramConfig, rules: tuple[Rule, ...]) -> str:
    length = _length(rng, config.input_len)
    letter_rules = [r for r in rules if set(r.pattern) <= set(config.alphabet) and len(r.pattern) <= length]
    text = _letters(rng, config.alphabet, length)
    if not letter_rules:
        return text
    pattern = letter_rules[rng.integers(len(letter_rules))].pattern
    start = int(rng.integers(0, length - len(pattern) + 1))
    return text[:start] + pattern + text[start + len(pattern):]


def run_example(algorithm: MarkovAlgorithm, text: str, config: ProgramConfig):
    """(target, steps fired) when the program halts within max_steps, else None."""
    result = algorithm.run(text, max_steps=config.max_steps, trace=config.target == "trace")
    if not result.halted:
        return None
    if config.target == "trace":
        return TRACE_SEPARATOR.join([text] + [step.after for step in result.trace]), result.steps
    return result.result, result.steps


def _usable(algorithm: MarkovAlgorithm, rng, config: ProgramConfig, rules) -> bool:
    for _ in range(PROBE_INPUTS):
        outcome = run_example(algorithm, _planted_input(rng, config, rules), config)
        if outcome is not None and outcome[1] >= max(config.min_steps, 1):
            return True
    return False


def sample_programs(config: ProgramConfig) -> tuple[list, list, dict]:
    """(training programs, test programs, drop counts)."""
    held = set(config.held_out_shapes or ())
    dropped = Counter()
    taken: set = set()

    def draw(split: str, count: int, shapes_allowed, must_use_held: bool, field: str) -> list:
        rng, found, draws = stream(config.seed, "programs", split), [], 0
        while len(found) < count:
            draws += 1
            if draws > 100 * count + 1000:
                raise ConfigError(field, count, f"only {len(found)} usable distinct programs found in {draws} draws; "
                                                "allow more letters, steps or longer rules")
            rules = _random_program(rng, config, shapes_allowed)
            if rules in taken:
                continue
            if must_use_held and not any((len(r.pattern), len(r.replacement)) in held for r in rules):
                continue
            if not _usable(MarkovAlgorithm(rules), rng, config, rules):
                dropped[f"{split}_programs_never_halting_or_firing"] += 1
                continue
            taken.add(rules)
            found.append(rules)
        return found

    test = draw("test", config.num_test_programs, lambda shape: True, bool(held), "num_test_programs")
    train = draw("train", config.num_train_programs, lambda shape: shape not in held, False, "num_train_programs")
    return train, test, dict(dropped)


def _write_split(dataset: DatasetWriter, config: ProgramConfig, split: str, programs: list, index: np.ndarray,
                 bar) -> Counter:
    noop = np.zeros(len(index), dtype=bool)
    noop[stream(config.seed, "noop", split).permutation(len(index))[: round(config.noop_fraction * len(index))]] = True
    algorithms = [MarkovAlgorithm(p) for p in programs]
    no_op_letters = ["".join(c for c in config.alphabet if all(r.pattern != c for r in p)) for p in programs]
    texts = [json.dumps(program_text(p)) for p in programs]
    dropped, has_op_rows = Counter(), 0
    filename = f"{split}.jsonl"
    with dataset.split(filename) as handle:
        for chunk, start in enumerate(range(0, len(index), CHUNK)):
            rng, lines = stream(config.seed, "examples", split, chunk), []
            for offset, program_id in enumerate(index[start : start + CHUNK].tolist()):
                rules, algorithm, has_op = programs[program_id], algorithms[program_id], not noop[start + offset]
                for _ in range(MAX_REDRAWS):
                    if has_op:
                        z = _planted_input(rng, config, rules)
                        outcome = run_example(algorithm, z, config)
                        if outcome is None:
                            dropped["examples_not_halting"] += 1
                        elif outcome[1] < max(config.min_steps, 1):
                            dropped["examples_too_few_steps"] += 1
                        else:
                            break
                    else:
                        # Letters that are whole patterns can never appear; longer patterns are rejected.
                        z = _letters(rng, no_op_letters[program_id] or config.alphabet, _length(rng, config.input_len))
                        if algorithm.find_applicable(z) is None:
                            outcome = (z, 0)  # the halted string and the (one-string) trace alike
                            break
                else:
                    raise ConfigError("noop_fraction" if not has_op else "max_steps",
                                      config.noop_fraction if not has_op else config.max_steps,
                                      f"no {'no-op' if not has_op else 'halting'} input found in {MAX_REDRAWS} draws for "
                                      f"program {program_text(rules)!r}")
                target, steps = outcome
                lines.append(f'{{"x": {texts[program_id]}, "y": "", "z": {json.dumps(z)}, "target": {json.dumps(target)}, '
                             f'"has_op": {json.dumps(has_op)}, "occurrences": {steps}, "steps": {steps}, '
                             f'"rule_id": {program_id}, "rules": {len(rules)}, "split": "{split}"}}\n')
                has_op_rows += has_op
            handle.write("".join(lines))
            bar.update(len(lines))
    dataset.add_split(split, {"file": filename, "rows": int(len(index)), "has_op": has_op_rows,
                              "rules": int(len(np.unique(index))) if len(index) else 0,
                              "no_op": int(len(index) - has_op_rows)})
    return dropped


def _write_programs(dataset: DatasetWriter, name: str, programs: list, counts: np.ndarray) -> None:
    dataset.rule_table(name, ({"rule_id": i, "x": program_text(p), "y": "", "rules": len(p), "examples": int(n)}
                              for i, (p, n) in enumerate(zip(programs, counts))))


def generate_program(config: ProgramConfig, out_dir: str | Path, *, overwrite: bool = False, progress: bool = True) -> dict:
    """Generate the dataset directory for `config`; return its manifest."""
    out_dir = Path(out_dir)
    existing = existing_dataset(out_dir, "program", config.to_dict(), overwrite)
    if existing is not None:
        return existing
    train, test, dropped = sample_programs(config)  # fails on the config before any file is written
    train_index = np.arange(config.train_size) % len(train)
    stream(config.seed, "order", "train").shuffle(train_index)
    per_program = np.bincount(train_index, minlength=len(train))
    test_index = np.arange(config.num_test_examples) % max(len(test), 1) if test else np.zeros(0, np.int64)
    seen_index = stream(config.seed, "allocation", "test_seen").integers(0, len(train), size=config.num_seen_test_examples)
    plan = [("train", train, train_index), ("test", test, test_index), ("test_seen", train, seen_index)]
    manifest = new_manifest(
        "program", config.to_dict(), config.seed, vocabulary=config.vocabulary,
        rules={"train": {"file": "rules_train.jsonl", "count": len(train)},
               "test": {"file": "rules_test.jsonl", "count": len(test)}},
        examples_per_rule={"train": {str(k): v for k, v in sorted(Counter(per_program.tolist()).items())}})

    def write(dataset: DatasetWriter) -> None:
        rows = sum(len(index) for _, _, index in plan)
        with tqdm(total=rows, unit="ex", desc=f"generate {out_dir.name}", disable=not progress, dynamic_ncols=True) as bar:
            for split, programs, index in plan:
                split_dropped = _write_split(dataset, config, split, programs, index, bar)
                dropped.update({f"{split}_{k}": v for k, v in split_dropped.items()})
        dataset.manifest["dropped"] = dict(sorted(dropped.items()))
        _write_programs(dataset, "rules_train.jsonl", train, per_program)
        _write_programs(dataset, "rules_test.jsonl", test, np.bincount(test_index, minlength=len(test)))

    return write_dataset(out_dir, manifest, write, overwrite=overwrite)
