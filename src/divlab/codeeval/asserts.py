"""Assert-style test suites (HumanEval's `check`, MBPP's asserts) judged outside the sandbox.

Running the benchmark's test code beside the program under test lets the program forge the verdict:
patch `repr` or the comparison, trace `check` away, rig `__eq__`, write "passed" where the runner
reports. So the test code never runs beside it:

1. record: the benchmark's test runs once against its own reference solution (trusted code, run here)
   with the entry point wrapped, which records each call's arguments;
2. execute: the sandbox calls the *program's* entry point on those arguments and returns the outputs as
   plain data (`plain.py`) and nothing else: the expected values never enter it;
3. replay: the benchmark's test runs again, here in the trusted parent, against a stub that returns the
   recorded outputs in order. Its own asserts decide, so the verdict is the reference harness's.

`random` is seeded alike for recording and replay (HumanEval/38, 50 and 53 draw their inputs). Arguments
that are not plain data (MBPP 367 and 927 build trees with the solution's own class) travel as the
source of the call's arguments, evaluated in the sandbox after the benchmark's set-up code.
"""

from __future__ import annotations

import ast
import copy
import functools
import json
import random
import threading

from divlab.codeeval.benchmarks import Benchmark, BenchmarkError, Problem
from divlab.codeeval.plain import NotPlainData, decode_plain, output_of, plain_text

RANDOM_SEED = 0
# Recordings and replays run test code that uses the module-level `random` (seeded per replay): one replay at a time.
_REPLAY_LOCK = threading.Lock()
_RECORDED: dict[tuple[str, str], list] = {}  # (benchmark md5, task) -> its test's calls, for this process


def reference_program(problem: Problem) -> str:
    return f"{problem.test_imports}\n{problem.prompt}{problem.canonical_solution}"


def record_calls(benchmark: Benchmark, task_ids) -> dict[str, list]:
    """Per task, the calls its test makes: each {"args": the arguments' plain text} or {"source": the
    source of an argument tuple}. Recorded here, in the process that replays them (a few ms a task, and
    the same string hashing, so a test that draws from a set makes the same calls both times)."""
    out = {}
    for task_id in task_ids:
        key = (benchmark.md5, task_id)
        if key not in _RECORDED:
            _RECORDED[key] = _record(benchmark, benchmark.problems[task_id])
        out[task_id] = _RECORDED[key]
    return out


def _record(benchmark: Benchmark, problem: Problem) -> list:
    """Run the benchmark's test against its reference solution, wrapped to record each top-level call's
    arguments (nested calls, i.e. recursion, are the function's own business)."""
    namespace: dict = {}
    calls, active = [], []

    def recorder(*args, **kwargs):
        if active:
            return original(*args, **kwargs)
        if kwargs:
            raise BenchmarkError(f"{problem.task_id}: the test calls {problem.entry_point} with keyword arguments")
        calls.append(_text(list(copy.deepcopy(args))))
        active.append(1)
        try:
            return original(*args)
        finally:
            active.pop()

    try:
        with _REPLAY_LOCK:
            exec(_compiled(reference_program(problem), "<reference>"), namespace)
            original = namespace[problem.entry_point]
            namespace[problem.entry_point] = recorder
            random.seed(RANDOM_SEED)
            exec(_compiled(problem.test_program, "<test>"), namespace)
    except BenchmarkError:
        raise
    except Exception as exc:
        raise BenchmarkError(f"{benchmark.name} {problem.task_id}: the test fails on the reference solution "
                             f"({type(exc).__name__}: {exc})") from exc
    if not calls:
        raise BenchmarkError(f"{benchmark.name} {problem.task_id}: the test never calls {problem.entry_point}")
    if any(call is None for call in calls):  # objects the test's set-up builds: sent as the calls' source
        return [{"source": source} for source in _call_sources(problem, len(calls))]
    return [{"args": text} for text in calls]


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
    return [call["source"] if "source" in call else decode_plain(json.loads(call["args"])) for call in calls]


class CandidateFailed(Exception):
    """The program raised, overran, or returned something that is not plain data, on this call."""


@functools.lru_cache(maxsize=1024)
def _compiled(source: str, name: str):
    return compile(source, name, "exec")


def replay(problem: Problem, calls: list, document: dict) -> tuple[bool, str | None]:
    """Run the benchmark's test here against the program's recorded outputs: (passed, why not)."""
    results = document.get("results")
    if type(results) is not list:
        return False, "no outputs"
    made = []  # indices of the recorded calls the replay has reached

    def candidate(*args, **kwargs):
        text = _text(list(args))
        index = len(made)
        if index < len(calls) and not kwargs and ("source" in calls[index] or text == calls[index]["args"]):
            made.append(index)
        elif text is not None and {"args": text} in calls[:index]:
            index = calls.index({"args": text})  # a call made again (an assert's message shows the wrong output)
        else:
            raise CandidateFailed(f"call {index}: the test called the function differently from its recording")
        if index >= len(results):
            raise CandidateFailed(f"call {index}: not run (the program stopped before it)")
        result = results[index]
        if type(result) is dict and "digest" in result:
            raise CandidateFailed(f"call {index}: an output of {result.get('size')} characters, too large to replay")
        try:
            return output_of(result)
        except NotPlainData as exc:
            raise CandidateFailed(f"call {index}: {exc}") from None

    namespace: dict = {}
    try:
        with _REPLAY_LOCK:
            exec(_compiled(reference_program(problem), "<reference>"), namespace)
            namespace[problem.entry_point] = candidate
            random.seed(RANDOM_SEED)
            exec(_compiled(problem.test_program, "<test>"), namespace)
    except CandidateFailed as exc:
        return False, str(exc)
    except AssertionError as exc:
        return False, f"wrong answer on call {len(made) - 1}" + (f": {str(exc)[:200]}" if str(exc) else "")
    except Exception as exc:  # the test's own code choking on the output (e.g. comparing a str with an int)
        return False, f"call {len(made) - 1}: the test failed on the output ({type(exc).__name__}: {str(exc)[:200]})"
    if len(made) != len(calls):
        return False, f"the test made {len(made)} calls, not the {len(calls)} recorded"
    return True, None


def _text(args):
    try:
        return plain_text(args)
    except (NotPlainData, RecursionError):
        return None
