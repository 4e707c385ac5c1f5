"""Generation speed: the e1-paper budget (10^6 train + 10^5 unseen-rule test + 10^4 seen-rule test examples),
written as JSONL with manifest and checksums, on one core. Target: <= 5 s for the whole set.

    python benchmarks/generate_speed.py [--preset e1-paper] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from divlab.tasks import get_task  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="e1-paper")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--format", default="jsonl", choices=["jsonl", "parquet"])
    args = parser.parse_args()
    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the target says
    except (AttributeError, OSError):
        pass
    task = get_task("rewrite")
    config = task.build_config(args.preset, overrides={"format": args.format})
    rows = config.train_size + config.num_test_examples + config.num_seen_test_examples
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            out = Path(tmp) / f"run{i}"
            start = time.perf_counter()
            task.generate(config, out, progress=False)
            times.append(time.perf_counter() - start)
            size = sum(p.stat().st_size for p in out.iterdir())
            shutil.rmtree(out)
    best = min(times)
    print(f"preset {args.preset} ({args.format}): {rows:,} examples, {size / 1e6:.0f} MB on disk")
    print(f"wall time: best {best:.2f} s, all {', '.join(f'{t:.2f}' for t in times)} s (target <= 5 s, one core)")
    print(f"throughput: {rows / best:,.0f} examples/s")


if __name__ == "__main__":
    main()
