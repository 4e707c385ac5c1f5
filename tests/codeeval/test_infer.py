"""Which benchmark a samples file is scored against: the one named, else the one `codeeval generate`
recorded beside it; never a guess from task ids."""

import json

import pytest

from divlab.codeeval.benchmarks import BenchmarkError
from divlab.codeeval.infer import infer_benchmark


def _generated(directory, benchmark="mbpp+", data="MbppPlus.jsonl.gz"):
    directory.mkdir()
    (directory / "samples.jsonl").write_text('{"task_id": "Mbpp/2", "completion": "pass"}\n')
    (directory / "generation.json").write_text(json.dumps({"config": {"benchmark": benchmark, "data": data}}))
    return directory


def test_the_recorded_benchmark_and_file_are_used(tmp_path):
    run = _generated(tmp_path / "run")
    for given in (run, run / "samples.jsonl"):
        target = infer_benchmark(given)
        assert (target.samples, target.benchmark, target.data) == (run / "samples.jsonl", "mbpp+", "MbppPlus.jsonl.gz")


def test_a_named_benchmark_wins_and_the_recorded_file_goes_only_with_its_benchmark(tmp_path):
    run = _generated(tmp_path / "run")
    assert infer_benchmark(run, "mbpp+").data == "MbppPlus.jsonl.gz"
    assert infer_benchmark(run, "mbpp").data is None
    assert infer_benchmark(run, "mbpp", "mine.jsonl").data == "mine.jsonl"
    assert infer_benchmark(run, data="mine.jsonl").benchmark == "mbpp+"


def test_without_a_record_the_benchmark_must_be_named(tmp_path):
    samples = tmp_path / "samples.jsonl"
    samples.write_text('{"task_id": "HumanEval/0", "completion": "pass"}\n')  # humaneval or humaneval+: no guess
    with pytest.raises(BenchmarkError, match="no generation.json beside it; say which --benchmark"):
        infer_benchmark(samples)
    assert infer_benchmark(samples, "humaneval").benchmark == "humaneval"
    (tmp_path / "generation.json").write_text("{not json")
    with pytest.raises(BenchmarkError, match="not a generation record"):
        infer_benchmark(samples, "humaneval")
