import json

import pytest

from divlab.errors import ConfigError
from divlab.codeeval import ScoreConfig, load_benchmark, score_samples
from divlab.codeeval import score as score_module
from divlab.codeeval.benchmarks import BenchmarkError
from divlab.codeeval.score import SamplesError
from tests.codeeval.conftest import DATA
from tests.conftest import run_cli


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("name", list(DATA))
def test_canonical_solutions_pass_everything_and_wrong_ones_nothing(tmp_path, name):
    benchmark = load_benchmark(name, DATA[name])
    expected_sizes = {"humaneval": 164, "humaneval+": 164, "mbpp": 500, "mbpp-sanitized": 257, "mbpp+": 378}
    assert len(benchmark.problems) == expected_sizes[name]
    rows = [{"task_id": t, "completion": p.canonical_solution} for t, p in benchmark.problems.items()]
    (tmp_path / "right").mkdir()
    summary = score_samples(_write(tmp_path / "right" / "samples.jsonl", rows), ScoreConfig(name, data=DATA[name]))
    assert summary["suites"] == {suite: {"pass@1": 1.0} for suite in benchmark.suites}
    assert summary["benchmark"]["md5"] == benchmark.md5 and summary["benchmark"]["problems"] == len(rows)

    wrong = [{"task_id": t, "solution": f"def {p.entry_point}(*args, **kwargs):\n    raise NotImplementedError\n"}
             for t, p in list(benchmark.problems.items())[:40]]
    (tmp_path / "wrong").mkdir()
    summary = score_samples(_write(tmp_path / "wrong" / "samples.jsonl", wrong), ScoreConfig(name, data=DATA[name]))
    assert summary["suites"] == {suite: {"pass@1": 0.0} for suite in benchmark.suites}


def test_evalplus_dataset_hashes_are_the_released_ones():
    assert load_benchmark("humaneval+", DATA["humaneval+"]).md5 == "fe585eb4df8c88d844eeb463ea4d0302"
    plus = load_benchmark("mbpp+", DATA["mbpp+"])
    assert (plus.md5, plus.version) == ("ee43ecabebf20deef4bb776a405ac5b1", "v0.2.0")
    # JSON lists are turned back into the tuples the MBPP+ functions take (EvalPlus's deserialisation).
    assert plus.problems["Mbpp/2"].base_inputs[0] == [(3, 4, 5, 6), (5, 7, 4, 10)]


def test_passing_base_but_failing_plus_is_counted_as_such(tmp_path):
    """A solution that memorises the base inputs' answers passes HumanEval (base) and fails HumanEval+."""
    benchmark = load_benchmark("humaneval+", DATA["humaneval+"])
    problem = benchmark.problems["HumanEval/13"]  # greatest_common_divisor
    reference = {}
    exec(problem.prompt + problem.canonical_solution, reference)
    table = {repr(tuple(args)): reference[problem.entry_point](*args) for args in problem.base_inputs}
    memoriser = (f"TABLE = {table!r}\n\ndef greatest_common_divisor(a, b):\n"
                 f"    return TABLE.get(repr((a, b)), 1)\n")
    right = problem.prompt + problem.canonical_solution
    samples = _write(tmp_path / "samples.jsonl", [{"task_id": "HumanEval/13", "solution": memoriser},
                                                  {"task_id": "HumanEval/13", "solution": right}])
    summary = score_samples(samples, ScoreConfig("humaneval+", data=DATA["humaneval+"]))
    results = [json.loads(line) for line in (tmp_path / "eval_results.jsonl").read_text().splitlines()]
    assert results[0]["base"]["status"] == "pass" and results[0]["plus"]["status"] == "fail"
    assert results[1]["base"]["status"] == "pass" and results[1]["plus"]["status"] == "pass"
    assert summary["suites"] == {"base": {"pass@1": 1.0}, "plus": {"pass@1": 0.5}}
    assert summary["per_task"]["HumanEval/13"] == {"base": {"n": 2, "correct": 2}, "plus": {"n": 2, "correct": 1}}


def test_rerun_executes_only_what_is_new(tmp_path, monkeypatch):
    calls = []
    real = score_module.execute
    monkeypatch.setattr(score_module, "execute", lambda *a, **k: calls.append(1) or real(*a, **k))
    rows = [{"task_id": "HumanEval/2", "completion": "    return number % 1.0\n"},
            {"task_id": "HumanEval/2", "completion": "    return 0.5\n"},
            {"task_id": "HumanEval/2", "completion": "    return number % 1.0\n"}]  # same code: executed once
    samples = _write(tmp_path / "samples.jsonl", rows)
    first = score_samples(samples, ScoreConfig("humaneval", workers=1))
    assert len(calls) == 2 and first["suites"]["base"] == {"pass@1": pytest.approx(2 / 3)}
    second = score_samples(samples, ScoreConfig("humaneval", workers=1))
    assert len(calls) == 2 and second["suites"] == first["suites"]
    _write(samples, rows + [{"task_id": "HumanEval/2", "completion": "    return number - int(number)\n"}])
    third = score_samples(samples, ScoreConfig("humaneval", workers=1))
    assert len(calls) == 3 and third["suites"]["base"] == {"pass@1": 0.75}


def test_bad_samples_and_benchmarks_are_named(monkeypatch, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"task_id": "HumanEval/0", "completion": "x"}\n{not json\n')
    with pytest.raises(SamplesError, match="line 2"):
        score_samples(bad, ScoreConfig("humaneval"))
    _write(bad, [{"task_id": "HumanEval/999", "completion": "x"}])
    with pytest.raises(SamplesError, match="HumanEval/999"):
        score_samples(bad, ScoreConfig("humaneval"))
    _write(bad, [{"task_id": "HumanEval/0", "code": "x"}])
    with pytest.raises(SamplesError, match="'solution', 'completion' or 'raw'"):
        score_samples(bad, ScoreConfig("humaneval"))
    with pytest.raises(ConfigError, match="benchmark='apps': unknown code benchmark; known: humaneval, "):
        load_benchmark("apps")
    assert load_benchmark("mbpp").name == "mbpp"  # found in the data directory (DIVLAB_DATA)
    monkeypatch.delenv("DIVLAB_DATA")
    with pytest.raises(BenchmarkError, match="--data PATH, or point --data-dir at a directory holding mbpp/mbpp.jsonl.gz"):
        load_benchmark("mbpp")
    with pytest.raises(BenchmarkError, match="mbpp/none.jsonl not found"):
        load_benchmark("mbpp", "mbpp/none.jsonl")
    with pytest.raises(ConfigError, match="timeout=-1.*: must be positive"):
        ScoreConfig("humaneval", timeout=-1)
    assert not (tmp_path / "eval_results.jsonl").exists()


def test_chat_answers_are_extracted_and_kept_raw(tmp_path):
    answer = ("Here is the function.\n```python\ndef truncate_number(number: float) -> float:\n"
              "    return number % 1.0\n```\nIt returns the decimal part.")
    samples = _write(tmp_path / "samples.jsonl", [{"task_id": "HumanEval/2", "raw": answer}])
    summary = score_samples(samples, ScoreConfig("humaneval", workers=1))
    assert summary["suites"]["base"] == {"pass@1": 1.0}


def test_cli_score_prints_and_writes_pass_at_k(tmp_path):
    samples = _write(tmp_path / "samples.jsonl", [{"task_id": "HumanEval/2", "completion": "    return number % 1.0\n"},
                                                  {"task_id": "HumanEval/2", "completion": "    return number\n"}])
    result = run_cli("codeeval", "score", str(samples), "--benchmark", "humaneval")
    assert "pass@1 = 0.5000" in result.stdout
    written = json.loads((tmp_path / "pass_at_k.json").read_text())
    assert written["suites"]["base"]["pass@1"] == 0.5 and written["sandbox"]["timeout"] == 20.0
    missing = run_cli("codeeval", "score", str(tmp_path / "nope.jsonl"), "--benchmark", "humaneval", check=False)
    assert missing.returncode == 2 and "nope.jsonl" in missing.stderr
