"""Writes a rewrite dataset directory: train, unseen-rule test and seen-rule test splits, rule tables and a
manifest. Same config and seed give byte-identical files."""

from __future__ import annotations

from collections import Counter
from json.encoder import encode_basestring as quote  # C-accelerated JSON string escaping
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from divlab.data.directory import existing_dataset
from divlab.data.writer import DatasetWriter, FileStream, new_manifest, write_dataset
from divlab.seeding import stream
from divlab.tasks.rewrite.config import RewriteConfig
from divlab.tasks.rewrite.sampling import (
    CharacterSource,
    RuleSet,
    allocate_power,
    allocate_uniform,
    choose_counts,
    make_inputs,
    sample_rules,
)

CHUNK = 1 << 15


def _sample_all_rules(config: RewriteConfig) -> tuple[RuleSet, RuleSet]:
    """Test rules first (they do not depend on I, so every grid point of a sweep shares them), then training
    rules that avoid them as pairs and, with disjoint_x, as x strings."""
    common = dict(alphabet=config.alphabet, x_len=config.x_len, y_len=config.y_len, allow_identity=config.allow_identity)
    test = sample_rules(
        config.seed, "test", config.num_test_rules, config.effective_test_families, field="num_test_rules", **common
    )
    train = sample_rules(
        config.seed, "train", config.num_train_rules, config.families,
        forbidden_x=frozenset(test.xs) if config.disjoint_x else frozenset(),
        forbidden_pairs=frozenset(zip(test.xs, test.ys)),
        field="num_train_rules",
        **common,
    )
    return train, test


def _noop_mask(size: int, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Exactly round(fraction * size) no-op rows, at random places."""
    mask = np.zeros(size, dtype=bool)
    mask[rng.permutation(size)[: round(fraction * size)]] = True
    return mask


class _SplitWriter:
    """Formats rows of one split as JSONL (streamed and hashed by the dataset writer) or Parquet."""

    def __init__(self, dataset: DatasetWriter, filename: str, fmt: str, split: str, rules: RuleSet, alphabet: str):
        self.dataset, self.filename, self.fmt, self.split, self.rules = dataset, filename, fmt, split, rules
        if fmt == "jsonl":
            self.stream = FileStream(dataset.directory / filename)
            self.plain = all(32 <= ord(ch) < 127 and ch not in '"\\' for ch in alphabet)
            # The rule's own fields are the same on every row of that rule: format them once per rule.
            self.head = [f'{{"x": {quote(x)}, "y": {quote(y)}, ' for x, y in zip(rules.xs, rules.ys)]
            self.tail = [
                f'"rule_id": {i}, "split": {quote(split)}, "family": {quote(f)}, "k": {k}}}\n'
                for i, (f, k) in enumerate(zip(rules.families, rules.ks))
            ]
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            self.schema = pa.schema(
                [("x", pa.string()), ("y", pa.string()), ("z", pa.string()), ("target", pa.string()),
                 ("has_op", pa.bool_()), ("occurrences", pa.int32()), ("rule_id", pa.int64()),
                 ("split", pa.string()), ("family", pa.string()), ("k", pa.int32())]
            )
            self.writer = pq.ParquetWriter(dataset.directory / filename, self.schema)

    def write(self, rule_ids: list[int], zs: list[str], targets: list[str], has_op: list[bool], counts: list[int]) -> None:
        if self.fmt == "jsonl":
            head, tail = self.head, self.tail
            truth = ("false", "true")
            if self.plain:  # letters that JSON never escapes: quoting by hand is exact and 2x faster
                lines = [
                    f'{head[r]}"z": "{z}", "target": "{t}", "has_op": {truth[h]}, "occurrences": {o}, {tail[r]}'
                    for r, z, t, h, o in zip(rule_ids, zs, targets, has_op, counts)
                ]
            else:
                lines = [
                    f'{head[r]}"z": {quote(z)}, "target": {quote(t)}, "has_op": {truth[h]}, "occurrences": {o}, {tail[r]}'
                    for r, z, t, h, o in zip(rule_ids, zs, targets, has_op, counts)
                ]
            self.stream.write("".join(lines))
        else:
            import pyarrow as pa

            rules = self.rules
            columns = {
                "x": [rules.xs[r] for r in rule_ids], "y": [rules.ys[r] for r in rule_ids], "z": zs,
                "target": targets, "has_op": has_op, "occurrences": counts, "rule_id": rule_ids,
                "split": [self.split] * len(zs), "family": [rules.families[r] for r in rule_ids],
                "k": [rules.ks[r] for r in rule_ids],
            }
            self.writer.write_table(pa.table(columns, schema=self.schema))

    def close(self) -> None:
        if self.fmt == "jsonl":
            self.dataset.manifest["files"][self.filename] = self.stream.close()
        else:
            self.writer.close()
            self.dataset.record(self.filename)


def _write_split(
    dataset: DatasetWriter,
    config: RewriteConfig,
    split: str,
    rules: RuleSet,
    rule_index: np.ndarray,
    noop_fraction: float,
    occurrences: tuple[tuple[int, float], ...],
    bar,
) -> None:
    chars = CharacterSource(config.alphabet)
    size = len(rule_index)
    noop = _noop_mask(size, noop_fraction, stream(config.seed, "noop", split))
    filename = f"{split}.{config.format}"
    writer = _SplitWriter(dataset, filename, config.format, split, rules, config.alphabet)
    occurrence_histogram: Counter = Counter()
    xs, ys = rules.xs, rules.ys
    rule_codes, rule_lengths = chars.encode_padded(xs)
    for chunk, start in enumerate(range(0, size, CHUNK)):
        rng = stream(config.seed, "inputs", split, chunk)
        index = rule_index[start : start + CHUNK]
        has_op = ~noop[start : start + CHUNK]
        planted = choose_counts(occurrences, len(index), rng)
        zs = make_inputs(rng, chars, rule_codes, rule_lengths, xs, index, has_op, planted, config.z_len)
        rule_ids = index.tolist()
        targets = [z.replace(xs[r], ys[r], 1) for r, z in zip(rule_ids, zs)]
        counts = [z.count(xs[r]) for r, z in zip(rule_ids, zs)]
        occurrence_histogram.update(counts)
        writer.write(rule_ids, zs, targets, has_op.tolist(), counts)
        bar.update(len(index))
    writer.close()
    dataset.add_split(split, {
        "file": filename,
        "rows": size,
        "rules": int(len(np.unique(rule_index))),
        "has_op": int(size - noop.sum()),
        "no_op": int(noop.sum()),
        "occurrences_histogram": {str(k): v for k, v in sorted(occurrence_histogram.items())},
    })


def _write_rules(dataset: DatasetWriter, name: str, rules: RuleSet, examples: np.ndarray) -> None:
    dataset.rule_table(name, ({"rule_id": i, "x": x, "y": y, "family": f, "k": k, "examples": int(n)}
                              for i, (x, y, f, k, n) in enumerate(zip(rules.xs, rules.ys, rules.families, rules.ks,
                                                                      examples))), ensure_ascii=False)


def _allocate(config: RewriteConfig):
    """Rule index of every example: (train, test, test_seen), and examples per training rule."""
    total = config.train_size
    if config.allocation == "uniform":
        train_index = allocate_uniform(config.num_train_rules, total)
        stream(config.seed, "order", "train").shuffle(train_index)
    else:
        train_index = allocate_power(config.num_train_rules, total, config.power_alpha, stream(config.seed, "allocation", "train"))
    per_rule = np.bincount(train_index, minlength=config.num_train_rules)
    test_index = allocate_uniform(config.num_test_rules, config.num_test_examples) if config.num_test_examples else np.zeros(0, np.int64)
    stream(config.seed, "order", "test").shuffle(test_index)
    seen_rules = np.flatnonzero(per_rule > 0)
    seen_index = seen_rules[stream(config.seed, "allocation", "test_seen").integers(0, len(seen_rules), size=config.num_seen_test_examples)]
    return train_index, test_index, seen_index, per_rule


def generate_rewrite(
    config: RewriteConfig, out_dir: str | Path, *, overwrite: bool = False, progress: bool = True
) -> dict:
    """Generate the dataset directory for `config`; return its manifest.

    An existing directory with the same config is reused as it is; one with a different config is
    refused unless `overwrite`.
    """
    out_dir = Path(out_dir)
    existing = existing_dataset(out_dir, "rewrite", config.to_dict(), overwrite)
    if existing is not None:
        return existing
    # Everything that can fail on the config (rule sampling) happens before any file is written.
    train_rules, test_rules = _sample_all_rules(config)
    train_index, test_index, seen_index, per_rule = _allocate(config)
    manifest = new_manifest(
        "rewrite", config.to_dict(), config.seed,
        rules={"train": {"file": "rules_train.jsonl", "count": len(train_rules)},
               "test": {"file": "rules_test.jsonl", "count": len(test_rules)}},
        examples_per_rule={"train": {str(k): v for k, v in sorted(Counter(per_rule.tolist()).items())}})
    plan = [
        ("train", train_rules, train_index, config.noop_fraction, config.occurrences),
        ("test", test_rules, test_index, config.effective_test_noop_fraction, config.effective_test_occurrences),
        ("test_seen", train_rules, seen_index, config.noop_fraction, config.occurrences),
    ]
    rows = sum(len(index) for _, _, index, _, _ in plan)

    def write(dataset: DatasetWriter) -> None:
        with tqdm(total=rows, unit="ex", desc=f"generate {out_dir.name}", disable=not progress, dynamic_ncols=True) as bar:
            for split, rules, index, noop_fraction, occurrences in plan:
                _write_split(dataset, config, split, rules, index, noop_fraction, occurrences, bar)
        _write_rules(dataset, "rules_train.jsonl", train_rules, per_rule)
        _write_rules(dataset, "rules_test.jsonl", test_rules, np.bincount(test_index, minlength=len(test_rules)))

    return write_dataset(out_dir, manifest, write, overwrite=overwrite)
