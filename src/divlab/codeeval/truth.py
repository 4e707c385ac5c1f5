"""What a right program outputs, established by trusted code alone, before any sample runs:

- io suites (HumanEval+, MBPP+): each input's expected output, from the canonical solution run in the
  sandbox (cached per dataset MD5, EvalPlus's "dataset hash"), with its reference seconds and the size of
  its text, from which the judge sets how much a candidate may send (`wire.caps_for`);
- assert suites (HumanEval's `check`, MBPP's asserts): the calls the benchmark's test makes, recorded by
  running the test here against its own reference solution wrapped to record each call's arguments (and
  the size of the reference's output). `random` is seeded alike for recording and replay (HumanEval/32,
  38, 50, 53 draw their inputs).

Arguments that cannot travel as values keep their meaning as source, evaluated in the sandbox: objects of
the solution's own classes (MBPP 367, 927), and sets, whose iteration order depends on how they were built
(Mbpp/341's `tuple(s)` must see the order the test's literal has).
"""

from __future__ import annotations

import ast
import copy
import functools
import pickle
import random
import threading
from dataclasses import dataclass

from divlab.atomic import atomic_write_bytes
import divlab.codeeval.wire as wire
from divlab.codeeval.benchmarks import CodeBenchmark, BenchmarkError, Problem, cache_dir
from divlab.codeeval.compare import MBPP_OUTPUT_NOT_NONE
from divlab.codeeval.sandbox import COMPLETED, Limits, execute
from divlab.codeeval.workers import parallel

GROUND_TRUTH_FORMAT = 8  # expected outputs with the size of their text; digests for large ones
RANDOM_SEED = 0
# Recordings and replays run test code that uses the module-level `random` (seeded per replay): one at a time.
TEST_LOCK = threading.Lock()
_RECORDED: dict[tuple[str, str], list] = {}  # (benchmark md5, task) -> its test's calls, for this process
_RECORD_LOCK = threading.Lock()  # workers of one task record its calls once (TEST_LOCK is taken inside _record)
_TRUSTED = (1 << 40, 1 << 40)  # the reference's own outputs are not capped


@dataclass(frozen=True)
class Digest:
    """An expected output too large to send as text (`wire.DIGEST_ABOVE`): equal only to the same bytes."""

    sha256: str
    size: int


@dataclass(frozen=True)
class SuiteTruth:
    outputs: list  # values, or Digest
    caps: list  # per output: (bytes, containers) a candidate may send, or None where a digest is asked
    seconds: list  # the reference's seconds per input
    encodings: list  # the reference's seconds spent encoding each output (Mbpp/255's are digests of ~100 MB)

    @property
    def encoding(self) -> float:
        return sum(self.encodings)


# -- io suites --------------------------------------------------------------------------------------------
def io_inputs(problem: Problem, suite: str) -> list:
    return problem.base_inputs if suite == "base" else problem.plus_inputs


def not_none(benchmark: CodeBenchmark, problem: Problem) -> bool:
    """EvalPlus judges these MBPP+ tasks by whether the output is None (their references return re.Match)."""
    return benchmark.oracle == "mbpp" and problem.entry_point in MBPP_OUTPUT_NOT_NONE


def ground_truth(benchmark: CodeBenchmark, task_ids, workers: int, refresh: bool = False) -> dict:
    """{task: {suite: SuiteTruth}}, from the canonical solutions run in the sandbox; cached per benchmark
    checksum (as EvalPlus caches per dataset hash)."""
    path = cache_dir() / "groundtruth" / f"{benchmark.name}-{benchmark.md5}-v{GROUND_TRUTH_FORMAT}.pkl"
    cached = {}
    if path.exists() and not refresh:
        with open(path, "rb") as f:
            cached = pickle.load(f)  # our own cache file, written below
    missing = [t for t in task_ids if t not in cached]
    if missing:
        limits = Limits(wall_seconds=600, max_file_bytes=2**40)

        def run(task_id):
            problem = benchmark.problems[task_id]
            return task_id, {suite: _reference_outputs(benchmark, problem, suite, limits) for suite in benchmark.suites}

        for task_id, out in parallel(run, missing, workers, f"reference outputs ({benchmark.name})"):
            cached[task_id] = out
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, pickle.dumps(cached))
    return cached


def _reference_outputs(benchmark: CodeBenchmark, problem: Problem, suite: str, limits: Limits) -> SuiteTruth:
    inputs = io_inputs(problem, suite)
    execution = execute({"mode": "calls", "program": problem.prompt + problem.canonical_solution,
                         "entry_point": problem.entry_point, "calls": inputs,
                         "not_none": not_none(benchmark, problem)}, limits)
    records = execution.stream.records if execution.status == COMPLETED else []
    if len(records) != len(inputs) or any(r.kind == "raised" for r in records):
        failed = next((r.body for r in records if r.kind == "raised"), execution.error)
        raise BenchmarkError(f"{benchmark.name} {problem.task_id}: the reference solution failed on the {suite} "
                             f"inputs ({failed}); stderr: {execution.stderr[-500:]}")
    outputs, caps = [], []
    for record in records:
        if record.kind == "digest":
            outputs.append(Digest(record.body, 0))
            caps.append(None)
        else:
            outputs.append(wire.decode_value(record.body, *_TRUSTED))
            caps.append(wire.caps_for(record.body.decode("ascii")))
    return SuiteTruth(outputs, caps, [r.seconds for r in records], [r.encoding for r in records])


# -- assert suites ----------------------------------------------------------------------------------------
def reference_program(problem: Problem) -> str:
    return f"{problem.test_imports}\n{problem.prompt}{problem.canonical_solution}"


@functools.lru_cache(maxsize=1024)
def compiled(source: str, name: str):
    return compile(source, name, "exec")


def record_calls(benchmark: CodeBenchmark, task_ids) -> dict[str, list]:
    """Per task, the calls its test makes: each {"args": the arguments' plain text} or {"source": the
    source of an argument tuple}, with "caps": what a candidate's output may take. Recorded here, in the
    process that replays them (a few ms a task, and the same string hashing, so a test that draws from a
    set makes the same calls both times)."""
    out = {}
    for task_id in task_ids:
        key = (benchmark.md5, task_id)
        with _RECORD_LOCK:
            if key not in _RECORDED:
                _RECORDED[key] = _record(benchmark, benchmark.problems[task_id])
        out[task_id] = _RECORDED[key]
    return out


def _record(benchmark: CodeBenchmark, problem: Problem) -> list:
    """Run the benchmark's test against its reference solution, wrapped to record each top-level call's
    arguments and output size (nested calls, i.e. recursion, are the function's own business)."""
    namespace: dict = {}
    calls, caps, unfaithful, active = [], [], [], []

    def recorder(*args, **kwargs):
        if active:
            return original(*args, **kwargs)
        if kwargs:
            raise BenchmarkError(f"{problem.task_id}: the test calls {problem.entry_point} with keyword arguments")
        calls.append(wire.plain_text_or_none(list(copy.deepcopy(args))))
        unfaithful.append(_holds_a_set(args))
        active.append(1)
        try:
            out = original(*args)
        finally:
            active.pop()
        caps.append(wire.caps_for(wire.plain_text_or_none(out)))
        return out

    try:
        with TEST_LOCK:
            exec(compiled(reference_program(problem), "<reference>"), namespace)
            original = namespace[problem.entry_point]
            namespace[problem.entry_point] = recorder
            random.seed(RANDOM_SEED)
            exec(compiled(problem.test_program, "<test>"), namespace)
    except BenchmarkError:
        raise
    except Exception as exc:
        raise BenchmarkError(f"{benchmark.name} {problem.task_id}: the test fails on the reference solution "
                             f"({type(exc).__name__}: {exc})") from exc
    if not calls:
        raise BenchmarkError(f"{benchmark.name} {problem.task_id}: the test never calls {problem.entry_point}")
    if any(call is None for call in calls):  # objects the test's set-up builds: sent as the calls' source
        return [{"source": source, "caps": cap} for source, cap in zip(_call_sources(problem, len(calls)), caps)]
    if any(unfaithful):  # sets: their source keeps the test's iteration order, where it can be read
        try:
            return [{"source": source, "caps": cap} for source, cap in zip(_call_sources(problem, len(calls)), caps)]
        except BenchmarkError:
            pass
    return [{"args": text, "caps": cap} for text, cap in zip(calls, caps)]


def _holds_a_set(value, depth: int = 0) -> bool:
    kind = type(value)
    if kind in (set, frozenset):
        return True
    if depth > wire.MAX_DEPTH:
        return False
    if kind in (list, tuple):
        return any(_holds_a_set(v, depth + 1) for v in value)
    if kind is dict:
        return any(_holds_a_set(k, depth + 1) or _holds_a_set(v, depth + 1) for k, v in value.items())
    return False


def _call_sources(problem: Problem, expected: int) -> list[str]:
    """The argument tuples of each call to the entry point, as source, in the order a straight-line test
    (MBPP's asserts) makes them."""
    tree = ast.parse(problem.test_program)
    sources = []
    calls = [node for node in _in_order(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
             and node.func.id == problem.entry_point]
    for call in calls:
        if call.keywords or any(isinstance(a, ast.Starred) for a in call.args):
            break
        sources.append("(" + "".join(ast.get_source_segment(problem.test_program, a) + ", " for a in call.args) + ")")
    if len(sources) != expected:
        raise BenchmarkError(f"{problem.task_id}: its test passes objects that are not plain data, and its calls "
                             f"cannot be read from its source ({len(sources)} found, {expected} made)")
    return sources


def _in_order(tree):
    """Nodes in source order (ast.walk is breadth-first)."""
    for node in ast.iter_child_nodes(tree):
        yield node
        yield from _in_order(node)


def arguments(calls: list) -> list:
    """The recorded calls as the sandbox takes them: argument lists as Python values, sources as they are."""
    return [call["source"] if "source" in call else
            wire.decode_value(call["args"].encode("ascii"), *_TRUSTED) for call in calls]
