"""Which benchmark (and benchmark file) a samples file is scored against when the caller does not say.

`codeeval generate` records its settings in `generation.json` beside `samples.jsonl`; scoring reads the
benchmark from there. A benchmark given explicitly wins; the recorded data file is reused only with the
benchmark it was recorded for. Task ids alone cannot name the benchmark (HumanEval/ ids are both HumanEval's
and HumanEval+'s; Mbpp/ ids are MBPP's, MBPP+'s and sanitized MBPP's), so without a record and without a
name this is an error rather than a guess.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from divlab.codeeval.benchmarks import BenchmarkError

SAMPLES_FILE = "samples.jsonl"
GENERATION_FILE = "generation.json"


@dataclass(frozen=True)
class ScoringTarget:
    """A samples file and what it is scored against."""

    samples: Path
    benchmark: str
    data: str | None  # local benchmark file; None: the benchmark's packaged, data-directory or released copy


def samples_file(samples: str | Path) -> Path:
    """A samples file, or the `samples.jsonl` inside a directory written by `codeeval generate`."""
    samples = Path(samples)
    return samples / SAMPLES_FILE if samples.is_dir() else samples


def recorded_generation(samples: Path) -> dict:
    """The settings `codeeval generate` recorded beside a samples file ({} when there is no record)."""
    recorded = samples.parent / GENERATION_FILE
    if not recorded.exists():
        return {}
    try:
        return json.loads(recorded.read_text())["config"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise BenchmarkError(f"{recorded}: not a generation record of `divlab codeeval generate`") from None


def infer_benchmark(samples: str | Path, benchmark: str | None = None, data: str | None = None) -> ScoringTarget:
    """The samples file and the benchmark and data file to score it against: those given, else those recorded
    by `codeeval generate`."""
    path = samples_file(samples)
    recorded = recorded_generation(path)
    chosen = benchmark or recorded.get("benchmark")
    if chosen is None:
        raise BenchmarkError(f"{path}: no {GENERATION_FILE} beside it; say which --benchmark the samples are for")
    if not data:
        data = recorded.get("data") if chosen == recorded.get("benchmark") else None
    return ScoringTarget(path, chosen, data)
