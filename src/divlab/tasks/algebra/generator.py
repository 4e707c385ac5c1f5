"""Writes an algebra dataset directory (paper E7) in the rewrite task's format, so that the from-scratch
trainer and evaluator read it unchanged: each row is x (the rule's left side), y (its right side), z (an
expression) and target (z with the first match of x rewritten by y, or z itself: a no-op).

How an example is built (brief §2.7): each rule variable binds a random sub-tree of depth d_p (positive where
the identity needs it: logs, roots, real powers); the instantiated left side is planted at a random leaf of
a random expression of depth d; the target rewrites the first match in pre-order, which may be another
occurrence. A has-op example whose first match would bind a positive variable to a sub-tree not provably
positive is drawn again, so every target equals its input as a function of positive variables. No-op inputs
hold a decoy of the same depth instead and no match at all.

Splits: train; test (unseen rules); test_seen (training rules); test_depth (the specialist rules at
`test_pattern_depth`, when set). Same config and seed give byte-identical files.
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
from divlab.seeding import stream
from divlab.tasks.algebra.config import AlgebraConfig
from divlab.tasks.algebra.expr import PRINTERS, Expr
from divlab.tasks.algebra.match import count_matches, first_match, positions, replace_at, substitute
from divlab.tasks.algebra.rules import Rule, random_rule

CHUNK = 4096
MAX_REDRAWS = 200
POSITIVE_HEADS = ("+", "*", "/", "^", "exp", "sqrt")


# -- rules ------------------------------------------------------------------------------------------------
def select_rules(config: AlgebraConfig) -> tuple[list[Rule], list[Rule]]:
    """(training rules, unseen test rules). Test rules are chosen first and do not depend on the number of
    training rules; training rules are a prefix of one seeded order, so the rule sets of a sweep over I nest."""
    if config.rule_source == "random":
        return _random_rules(config)
    rules = config.inventory()
    inventory = {rule.name: rule for rule in rules}
    order = [rules[i].name for i in stream(config.seed, "rules", "order").permutation(len(rules))]
    test = list(config.test_rules) if config.test_rules is not None else [
        n for n in order if n not in (config.train_rules or ())][: config.num_test_rules]
    train = list(config.train_rules) if config.train_rules is not None else [
        n for n in order if n not in test][: config.num_train_rules]
    return [inventory[n] for n in train], [inventory[n] for n in test]


def _draw_random(config: AlgebraConfig, split: str, count: int, taken: set, field: str) -> list[Rule]:
    rng, rules, draws = stream(config.seed, "rules", split), [], 0
    while len(rules) < count:
        draws += 1
        if draws > 50 * count + 1000:
            raise ConfigError(field, count, f"only {len(rules)} distinct random rules found in {draws} draws "
                                            f"with rule_depth {list(config.rule_depth)}")
        rule = random_rule(rng, config.rule_depth)
        if rule is None or rule.lhs in taken:
            continue
        taken.add(rule.lhs)
        rules.append(rule)
    return rules


def _random_rules(config: AlgebraConfig) -> tuple[list[Rule], list[Rule]]:
    taken: set = set()  # left sides: an unseen rule never shares its pattern with a training rule
    test = _draw_random(config, "test", config.num_test_rules, taken, "num_test_rules")
    return _draw_random(config, "train", config.num_train_rules, taken, "num_train_rules"), test


# -- trees ------------------------------------------------------------------------------------------------
def is_positive(expr: Expr) -> bool:
    """Provably positive when every variable is: positive leaves under + * / ^ exp sqrt only."""
    if expr.is_leaf:
        return expr.head != "0"
    return expr.head in POSITIVE_HEADS and all(is_positive(a) for a in expr.args)


class TreeMaker:
    """Random expression trees of an exact depth over the config's leaves, operators and functions."""

    def __init__(self, config: AlgebraConfig):
        self.variables = list(config.variables)
        self.constants = [str(c) for c in range(config.constants[0], config.constants[1] + 1) if c > 0]
        self.heads = list(config.operators) + list(config.functions)
        self.positive_heads = [h for h in self.heads if h in POSITIVE_HEADS]
        if not self.positive_heads:
            self.positive_heads = ["+"]

    def leaf(self, rng) -> Expr:
        if self.constants and rng.random() < 0.3:
            return Expr(self.constants[rng.integers(len(self.constants))])
        return Expr(self.variables[rng.integers(len(self.variables))])

    def tree(self, rng, depth: int, positive: bool = False) -> Expr:
        if depth == 0:
            return self.leaf(rng)
        heads = self.positive_heads if positive else self.heads
        head = heads[rng.integers(len(heads))]
        if head in ("log", "exp", "sin", "cos", "sqrt"):
            return Expr(head, (self.tree(rng, depth - 1, positive or head in ("log", "sqrt")),))
        deep = int(rng.integers(2))
        sides = [self.tree(rng, depth - 1 if i == deep else int(rng.integers(depth)), positive) for i in range(2)]
        if head == "^":  # small integer exponents keep values real and trees small
            sides = [self.tree(rng, depth - 1, positive), Expr(str(rng.integers(2, 4)))]
        return Expr(head, tuple(sides))


def _leaf_paths(expr: Expr) -> list:
    return [path for path, sub in positions(expr) if sub.is_leaf]


def _plant(rng, context: Expr, sub_tree: Expr) -> Expr:
    spots = _leaf_paths(context)
    return replace_at(context, spots[rng.integers(len(spots))], sub_tree)


def make_example(rng, maker: TreeMaker, rule: Rule, depth: tuple, pattern_depth: tuple, has_op: bool) -> dict | None:
    """One example, or None when this draw must be redrawn (a match that breaks the rule's domain; a no-op
    input that matches)."""
    variables = rule.variables
    context = maker.tree(rng, int(rng.integers(depth[0], depth[1] + 1)))
    if has_op:
        bindings = {v: maker.tree(rng, int(rng.integers(pattern_depth[0], pattern_depth[1] + 1)), v in rule.positive)
                    for v in sorted(variables)}
        z = _plant(rng, context, substitute(rule.lhs, bindings))
    else:
        z = _plant(rng, context, maker.tree(rng, int(rng.integers(pattern_depth[0], pattern_depth[1] + 1)) + 1))
    found = first_match(rule.lhs, z, variables)
    if not has_op:
        return None if found is not None else {"z": z, "target": z, "path": None, "occurrences": 0}
    path, bound = found
    if not all(is_positive(bound[v]) for v in rule.positive):
        return None
    return {"z": z, "target": replace_at(z, path, substitute(rule.rhs, bound)), "path": list(path),
            "occurrences": count_matches(rule.lhs, z, variables)}


# -- splits -----------------------------------------------------------------------------------------------
def _noop_mask(size: int, fraction: float, rng) -> np.ndarray:
    mask = np.zeros(size, dtype=bool)
    mask[rng.permutation(size)[: round(fraction * size)]] = True
    return mask


def _training_index(config: AlgebraConfig) -> np.ndarray:
    """Rule index of every training example: uniform over the specialist rules, and `diver_share` of the
    budget uniform over the diversifiers."""
    total = config.train_size
    spec, diver = config.specialist_rules, config.diver_rules
    diver_total = round(config.diver_share * total)
    parts = [np.arange(total - diver_total) % spec]
    if diver:
        parts.append(spec + np.arange(diver_total) % diver)
    index = np.concatenate(parts).astype(np.int64)
    stream(config.seed, "order", "train").shuffle(index)
    return index


def _write_split(dataset: DatasetWriter, config: AlgebraConfig, split: str, rules: list[Rule], index: np.ndarray,
                 pattern_depths: list[tuple], bar) -> None:
    printer = PRINTERS[config.notation]
    maker = TreeMaker(config)
    noop = _noop_mask(len(index), config.noop_fraction, stream(config.seed, "noop", split))
    heads = [(json.dumps(printer(r.lhs)), json.dumps(printer(r.rhs)), json.dumps(r.name), json.dumps(r.family)) for r in rules]
    filename = f"{split}.jsonl"
    has_op_rows = 0
    with dataset.split(filename) as handle:
        for chunk, start in enumerate(range(0, len(index), CHUNK)):
            rng = stream(config.seed, "examples", split, chunk)
            lines = []
            for offset, rule_id in enumerate(index[start : start + CHUNK].tolist()):
                has_op = not noop[start + offset]
                for _ in range(MAX_REDRAWS):
                    example = make_example(rng, maker, rules[rule_id], config.depth, pattern_depths[rule_id], has_op)
                    if example is not None:
                        break
                else:
                    raise ConfigError("noop_fraction" if not has_op else "depth", config.noop_fraction if not has_op else list(config.depth),
                                      f"no valid {'no-op' if not has_op else 'has-op'} example for rule "
                                      f"{rules[rule_id].text!r} in {MAX_REDRAWS} draws")
                x, y, name, family = heads[rule_id]
                z, target = printer(example["z"]), printer(example["target"])
                text = "" if config.prompt is None else (
                    f'"prompt": {json.dumps(config.prompt.format(x=printer(rules[rule_id].lhs), y=printer(rules[rule_id].rhs), z=z))}, '
                    f'"completion": {json.dumps(target)}, ')
                lines.append(f'{{"x": {x}, "y": {y}, "z": {json.dumps(z)}, "target": {json.dumps(target)}, {text}'
                             f'"has_op": {json.dumps(has_op)}, "occurrences": {example["occurrences"]}, '
                             f'"rule_id": {rule_id}, "rule": {name}, "family": {family}, '
                             f'"path": {json.dumps(example["path"])}, "split": "{split}"}}\n')
                has_op_rows += has_op
            handle.write("".join(lines))
            bar.update(len(lines))
    dataset.add_split(split, {"file": filename, "rows": int(len(index)), "has_op": has_op_rows,
                              "rules": int(len(np.unique(index))) if len(index) else 0,
                              "no_op": int(len(index) - has_op_rows)})


def _write_rules(dataset: DatasetWriter, name: str, rules: list[Rule], counts: np.ndarray, config: AlgebraConfig) -> None:
    printer = PRINTERS[config.notation]
    dataset.rule_table(name, ({"rule_id": i, "name": r.name, "family": r.family, "x": printer(r.lhs),
                               "y": printer(r.rhs), "infix": r.text, "positive": sorted(r.positive), "examples": int(n)}
                              for i, (r, n) in enumerate(zip(rules, counts))))


def generate_algebra(config: AlgebraConfig, out_dir: str | Path, *, overwrite: bool = False, progress: bool = True) -> dict:
    """Generate the dataset directory for `config`; return its manifest. An existing directory holding the
    same config is reused; one holding another is refused unless `overwrite`."""
    out_dir = Path(out_dir)
    existing = existing_dataset(out_dir, "algebra", config.to_dict(), overwrite)
    if existing is not None:
        return existing
    train_rules, test_rules = select_rules(config)  # fails on the config before any file is written
    train_index = _training_index(config)
    per_rule = np.bincount(train_index, minlength=len(train_rules))
    test_index = np.arange(config.num_test_examples) % max(len(test_rules), 1) if test_rules else np.zeros(0, np.int64)
    stream(config.seed, "order", "test").shuffle(test_index)
    seen_index = stream(config.seed, "allocation", "test_seen").integers(0, len(train_rules), size=config.num_seen_test_examples)
    spec = config.specialist_rules
    diver_depth = config.diver_pattern_depth or config.pattern_depth
    train_depths = [config.pattern_depth] * spec + [diver_depth] * config.diver_rules
    plan = [("train", train_rules, train_index, train_depths),
            ("test", test_rules, test_index, [config.pattern_depth] * len(test_rules)),
            ("test_seen", train_rules, seen_index, train_depths)]
    if config.test_pattern_depth is not None:
        depth_index = stream(config.seed, "allocation", "test_depth").integers(0, spec, size=config.num_test_examples)
        plan.append(("test_depth", train_rules, depth_index, [config.test_pattern_depth] * len(train_rules)))
    manifest = new_manifest(
        "algebra", config.to_dict(), config.seed,
        rules={"train": {"file": "rules_train.jsonl", "count": len(train_rules)},
               "test": {"file": "rules_test.jsonl", "count": len(test_rules)}},
        examples_per_rule={"train": {str(k): v for k, v in sorted(Counter(per_rule.tolist()).items())}})
    rows = sum(len(index) for _, _, index, _ in plan)

    def write(dataset: DatasetWriter) -> None:
        with tqdm(total=rows, unit="ex", desc=f"generate {out_dir.name}", disable=not progress, dynamic_ncols=True) as bar:
            for split, rules, index, depths in plan:
                _write_split(dataset, config, split, rules, index, depths, bar)
        _write_rules(dataset, "rules_train.jsonl", train_rules, per_rule, config)
        _write_rules(dataset, "rules_test.jsonl", test_rules, np.bincount(test_index, minlength=len(test_rules)), config)

    return write_dataset(out_dir, manifest, write, overwrite=overwrite)
