"""The verdict, decided here in the trusted parent from the program's records (wire.py) and the truth
(truth.py), never inside the sandbox:

- how each output must come back is set from the EXPECTED side (`modes`): a digest where the expected
  output is one, else a value whose text is capped by the expected text's size. A record of another kind
  is a failure, so no value the program writes can stand for a marker of ours;
- every value is decoded within those caps, depth-bounded and hash-checked (`wire.decode_value`), before
  any comparison, and outside the lock the assert replays share;
- io suites: EvalPlus's comparison rules (compare.py); assert suites: the benchmark's own test runs here
  again against a stub that returns the program's outputs in order, so its asserts decide.

A malformed, oversized or pathological record is that sample's failure with a short reason.
"""

from __future__ import annotations

import random

import divlab.codeeval.wire as wire
from divlab.codeeval.benchmarks import CodeBenchmark, Problem
from divlab.codeeval.compare import outputs_match
from divlab.codeeval.truth import RANDOM_SEED, TEST_LOCK, Digest, SuiteTruth, compiled, reference_program

OVERHEAD_PER_RECORD = 128  # a record's kind, times and digest, beside its value's text


def io_modes(truth: SuiteTruth) -> list[int]:
    """Per input, how the program must send its output: decided from the expected output alone."""
    return [wire.DIGEST if cap is None else cap[0] for cap in truth.caps]


def assert_modes(calls: list) -> list[int]:
    return [call["caps"][0] for call in calls]


def result_bytes(modes: list[int]) -> int:
    """The most a right program's records can take: the pipe refuses more before anything is parsed."""
    return 65536 + sum(max(mode, 0) + OVERHEAD_PER_RECORD for mode in modes)


def judge_io(benchmark: CodeBenchmark, problem: Problem, inputs: list, truth: SuiteTruth,
             stream: wire.Stream) -> tuple[int, str | None]:
    """(inputs passed before the first failure, why it failed), EvalPlus's fast check."""
    if not stream.loaded:
        return 0, stream.error
    records = stream.records
    for i, want in enumerate(truth.outputs):
        if i >= len(records):
            return i, f"input {i}: not run"
        record = records[i]
        if record.kind == "raised":
            return i, f"input {i}: {record.body}"
        if isinstance(want, Digest):  # a large output: exact comparison of texts, as asked
            if record.kind != "digest" or record.body != want.sha256:
                return i, f"wrong output on input {i} (a large output, compared by digest)"
            continue
        if record.kind != "ok":
            return i, f"input {i}: a {record.kind} record where a value was asked"
        try:
            out = wire.decode_value(record.body, *truth.caps[i])
        except wire.NotPlainData as exc:
            return i, f"input {i}: {exc}"
        try:
            ok = outputs_match(benchmark.oracle, problem.entry_point, inputs[i], out, want, problem.atol)
        except Exception:  # EvalPlus asserts there: a failure of this sample
            ok = False
        if not ok:
            return i, f"wrong output on input {i}"
    return len(truth.outputs), None


class CandidateFailed(Exception):
    """The program raised, overran, or sent something that is not plain data, on this call."""


def judge_asserts(problem: Problem, calls: list, stream: wire.Stream) -> tuple[bool, str | None]:
    """Run the benchmark's test here against the program's recorded outputs: (passed, why not)."""
    if not stream.loaded:
        return False, stream.error
    outputs = []  # decoded before the lock: a pathological output costs only its own sample's time
    for index, record in enumerate(stream.records):
        if record.kind == "raised":
            outputs.append(CandidateFailed(f"call {index}: {record.body}"))
        elif record.kind != "ok":
            outputs.append(CandidateFailed(f"call {index}: a {record.kind} record where a value was asked"))
        else:
            try:
                outputs.append(wire.decode_value(record.body, *calls[index]["caps"]))
            except wire.NotPlainData as exc:
                outputs.append(CandidateFailed(f"call {index}: {exc}"))
    made = []  # indices of the recorded calls the replay has reached
    texts = [call.get("args") for call in calls]

    def candidate(*args, **kwargs):
        text = wire.plain_text_or_none(list(args))
        index = len(made)
        if index < len(calls) and not kwargs and ("source" in calls[index] or text == texts[index]):
            made.append(index)
        elif text is not None and text in texts[:index]:
            index = texts.index(text)  # a call made again (an assert's message shows the wrong output)
        else:
            raise CandidateFailed(f"call {index}: the test called the function differently from its recording")
        if index >= len(outputs):
            raise CandidateFailed(f"call {index}: not run (the program stopped before it)")
        if isinstance(outputs[index], CandidateFailed):
            raise outputs[index]
        return outputs[index]

    namespace: dict = {}
    try:
        with TEST_LOCK:
            exec(compiled(reference_program(problem), "<reference>"), namespace)
            namespace[problem.entry_point] = candidate
            random.seed(RANDOM_SEED)
            exec(compiled(problem.test_program, "<test>"), namespace)
    except CandidateFailed as exc:
        return False, str(exc)
    except AssertionError as exc:
        return False, f"wrong answer on call {len(made) - 1}" + (f": {_cut(exc)}" if str(exc) else "")
    except Exception as exc:  # the test's own code choking on the output (e.g. comparing a str with an int)
        return False, f"call {len(made) - 1}: the test failed on the output ({type(exc).__name__}: {_cut(exc)})"
    if len(made) != len(calls):
        return False, f"the test made {len(made)} calls, not the {len(calls)} recorded"
    return True, None


def _cut(exc: BaseException) -> str:
    try:
        return str(exc)[:200]
    except Exception:
        return type(exc).__name__
