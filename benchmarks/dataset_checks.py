"""What verifying a dataset against its manifest costs: the SHA-256 of every split file, against reading
and tokenizing the same splits (which training does anyway), in one run.

    python benchmarks/dataset_checks.py [--preset e1-paper]

Target (issue 11): cheap, a small fraction of the reading it guards.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="e1-paper", help="rewrite preset to generate (default: the paper's 1M rows)")
    args = parser.parse_args()

    from divlab.data.directory import read_manifest, sha256_file
    from divlab.models.tokenizer import CharTokenizer
    from divlab.train.batching import tokenize_split

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "dataset"
        subprocess.run([sys.executable, "-m", "divlab.cli", "generate", "--preset", args.preset, "--out", str(out),
                        "--quiet"], check=True, stdout=subprocess.DEVNULL)
        manifest = read_manifest(out)
        files = [out / name for name in manifest["files"] if name.endswith((".jsonl", ".parquet"))]
        size = sum(f.stat().st_size for f in files)
        start = time.perf_counter()
        for f in files:
            sha256_file(f)
        hashing = time.perf_counter() - start
        tokenizer = CharTokenizer(manifest["config"]["alphabet"])
        start = time.perf_counter()
        for split in manifest["splits"]:
            tokenize_split(out, split, tokenizer)  # includes one verification per file (cached after)
        reading = time.perf_counter() - start
    print(f"{args.preset}: {len(files)} files, {size / 1e6:.0f} MB")
    print(f"verify checksums: {hashing:.2f} s ({size / 1e6 / hashing:.0f} MB/s)")
    print(f"read + tokenize every split (verification included): {reading:.2f} s")
    print(f"verification / reading: {hashing / reading:.1%}")


if __name__ == "__main__":
    main()
