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

import divlab
from divlab.data.directory import atomic_dataset_dir, existing_dataset, sha256_file, write_manifest
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
        manifest = {
            "format": source["format"], "format_version": source["format_version"],
            "divlab_version": divlab.__version__, "task": "encrypted", "seed": config.seed,
            "config": config.to_dict(), "cipher": cipher, "rewrite_manifest": source, "splits": {}, "files": {},
            "examples_per_rule": source["examples_per_rule"], "rules": source["rules"],
        }
        with atomic_dataset_dir(out_dir, overwrite=overwrite) as directory:
            for split in SPLITS:
                count = 0
                with open(scratch / "rewrite" / f"{split}.jsonl", encoding="utf-8") as rows, \
                        open(directory / f"{split}.jsonl", "w", encoding="utf-8") as out:
                    for line in rows:
                        row = json.loads(line)
                        text = {"prompt": config.prompt.format(x=row["x"], y=row["y"], z=row["z"]),
                                "completion": encrypt(row["target"], cipher)}
                        out.write(json.dumps({**text, **{k: row[k] for k in KEEP if k in row}}) + "\n")
                        count += 1
                manifest["splits"][split] = {**source["splits"][split], "file": f"{split}.jsonl", "rows": count}
            for name in ("rules_train.jsonl", "rules_test.jsonl"):
                shutil.copy(scratch / "rewrite" / name, directory / name)
            for path in sorted(directory.iterdir()):
                manifest["files"][path.name] = sha256_file(path)
            write_manifest(directory, manifest)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return manifest
