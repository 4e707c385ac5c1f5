"""Writes an encrypted-rewriting dataset directory.

The rewrite rows come from the rewrite generator itself (same rules, inputs, splits and disjointness
checks), written to a scratch directory; each becomes a prompt/completion pair whose completion is the
rewrite target passed through the cipher. The manifest records the cipher and the rewrite manifest.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from divlab.data.directory import existing_dataset
from divlab.data.writer import DatasetWriter, new_manifest, write_dataset
from divlab.seeding import stream
from divlab.tasks.encrypted.config import EncryptedConfig
from divlab.tasks.rewrite.generator import generate_rewrite

SPLITS = ("train", "test", "test_seen")
KEEP = ("x", "y", "z", "target", "has_op", "occurrences", "rule_id", "split", "family", "k")


def make_cipher(alphabet: str, seed: int) -> dict[str, str]:
    """A seeded substitution with no fixed letter (a derangement), so every letter really changes."""
    letters = sorted(set(alphabet))
    rng = stream(seed, "cipher")
    while True:
        order = rng.permutation(len(letters))
        if all(i != j for i, j in enumerate(order)):
            return {a: letters[j] for a, j in zip(letters, order)}


def encrypt(text: str, cipher: dict[str, str]) -> str:
    return text.translate(str.maketrans(cipher))


def generate_encrypted(config: EncryptedConfig, out_dir: str | Path, *, overwrite: bool = False,
                       progress: bool = True) -> dict:
    out_dir = Path(out_dir)
    existing = existing_dataset(out_dir, "encrypted", config.to_dict(), overwrite)
    if existing is not None:
        return existing
    cipher = make_cipher(config.rewrite.alphabet, config.cipher_seed if config.cipher_seed is not None else config.seed)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.rewrite-", dir=out_dir.parent))
    try:
        source = generate_rewrite(config.rewrite.replace(format="jsonl"), scratch / "rewrite", progress=progress)
        manifest = new_manifest("encrypted", config.to_dict(), config.seed, cipher=cipher, rewrite_manifest=source,
                                examples_per_rule=source["examples_per_rule"], rules=source["rules"])

        def write(dataset: DatasetWriter) -> None:
            for split in SPLITS:
                _encrypt_split(dataset, config, cipher, scratch / "rewrite", split, source["splits"][split])
            for name in ("rules_train.jsonl", "rules_test.jsonl"):
                dataset.copy(scratch / "rewrite" / name, name)

        return write_dataset(out_dir, manifest, write, overwrite=overwrite)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _encrypt_split(dataset: DatasetWriter, config: EncryptedConfig, cipher: dict, source_dir: Path, split: str,
                   summary: dict) -> None:
    """The rewrite split's rows as prompt/completion pairs whose completion is enciphered."""
    count = 0
    with open(source_dir / f"{split}.jsonl", encoding="utf-8") as rows, dataset.split(f"{split}.jsonl") as out:
        for line in rows:
            row = json.loads(line)
            text = {"prompt": config.prompt.format(x=row["x"], y=row["y"], z=row["z"]),
                    "completion": encrypt(row["target"], cipher)}
            out.write(json.dumps({**text, **{k: row[k] for k in KEEP if k in row}}) + "\n")
            count += 1
    dataset.add_split(split, {**summary, "file": f"{split}.jsonl", "rows": count})
