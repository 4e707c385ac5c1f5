"""The red team's findings (issue 24), each reproduced: a program that learns its expected outputs' lengths
from what the sandbox sends it, a chat answer that stalls extraction, a sample's text that crashes the run,
and a kernel keyring shared across the samples of one zygote."""

import json
import os
import time

import pytest

from divlab.codeeval import ScoreConfig, load_benchmark, score, score_samples, wire
from divlab.codeeval.sandbox import isolation
from tests.codeeval.conftest import DATA

needs_namespaces = pytest.mark.skipif(isolation()[1] != "namespaces", reason="needs user/network namespaces")
STARTS = ["fresh interpreter", "forked from a zygote"]
CONFIG = dict(timeout=10, min_time_limit=1.0, gt_time_limit_factor=4.0, per_task_timeout=20.0, memory_bytes=1 << 30,
              workers=2)

# The red team's completion: 8224 = 8192 + 8 x len("true"), the cap the runner was sent for a true answer.
LENGTH_ORACLE = "    import sys; f = sys._getframe(1).f_locals; return f[\"modes\"][f[\"i\"]] == 8224\n"


def _score_rows(tmp_path, benchmark_name, rows, **config):
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = score_samples(samples, ScoreConfig(benchmark_name, data=DATA[benchmark_name], **{**CONFIG, **config}))
    return summary, [json.loads(line) for line in (tmp_path / "eval_results.jsonl").read_text().splitlines()]


# -- 1. nothing derived from the expected outputs enters the sandbox ------------------------------------
@pytest.mark.slow
@needs_namespaces
@pytest.mark.parametrize("start", STARTS)
def test_the_expected_outputs_lengths_cannot_forge_a_pass(tmp_path, monkeypatch, start):
    if start == "fresh interpreter":
        monkeypatch.setenv("DIVLAB_SANDBOX_ZYGOTE", "0")
    problem = load_benchmark("humaneval+", DATA["humaneval+"]).problems["HumanEval/3"]
    rows = [{"task_id": "HumanEval/3", "solution": problem.prompt + problem.canonical_solution},
            {"task_id": "HumanEval/3", "solution": problem.prompt + LENGTH_ORACLE}]
    _, results = _score_rows(tmp_path, "humaneval+", rows)
    assert results[0]["base"]["status"] == "pass" and results[0]["plus"]["status"] == "pass", results[0]
    assert results[1]["base"]["status"] != "pass", results[1]
    assert results[1]["plus"]["status"] != "pass", results[1]


def test_what_the_sandbox_is_sent_does_not_vary_with_the_expected_outputs(tmp_path, monkeypatch):
    """Every payload and limit a program can read is the same for each call of a task, and its caps the
    same for tasks whose answers differ in length; the per-call caps stay in the parent."""
    seen = []
    real = score.execute

    def spy(payload, limits):
        seen.append((payload, limits.for_runner()))
        return real(payload, limits)

    monkeypatch.setattr(score, "execute", spy)
    benchmark = load_benchmark("humaneval+", DATA["humaneval+"])
    rows = [{"task_id": t, "solution": benchmark.problems[t].prompt + benchmark.problems[t].canonical_solution}
            for t in ("HumanEval/3", "HumanEval/0", "HumanEval/23")]
    _score_rows(tmp_path, "humaneval+", rows)
    assert seen
    caps = set()
    for payload, limits in seen:
        assert "result_bytes" not in limits
        for key in ("modes", "time_limits", "watch_limits"):
            assert len(set(payload[key])) == 1, (key, payload[key][:5])
        caps |= set(payload["modes"])
    assert caps == {wire.SEND_CAP}


# -- 2. a chat answer cannot stall the parent ------------------------------------------------------------
@pytest.mark.parametrize("lines", [3000, 33000])  # 9 KB (12 s before the fix) and 100 KB
def test_extraction_of_a_pathological_answer_is_bounded(monkeypatch, lines):
    import ast

    from divlab.codeeval import extract

    answer = "def has_close_elements(numbers, threshold):\n    x = (\n" + "1,\n" * lines
    parses = []
    real = ast.parse
    monkeypatch.setattr(extract.ast, "parse", lambda text, *a, **k: parses.append(len(text)) or real(text, *a, **k))
    started = time.perf_counter()
    code = extract.extract_code(answer, "has_close_elements")
    assert time.perf_counter() - started < 2
    assert sum(parses) <= extract.PARSE_BUDGET
    assert code == answer.rstrip("\n") + "\n"  # no prefix parses: the code as it came, to fail when run


# -- 3. one sample's text cannot crash the run -----------------------------------------------------------
def test_a_lone_surrogate_in_a_sample_is_scored_and_the_run_completes(tmp_path):
    problem = load_benchmark("humaneval").problems["HumanEval/2"]
    honest = problem.prompt + problem.canonical_solution
    samples = tmp_path / "samples.jsonl"
    # json.dumps escapes it as \ud800, which json.loads turns back into a lone surrogate
    samples.write_text("".join(json.dumps({"task_id": "HumanEval/2", "solution": s}) + "\n"
                               for s in (honest, honest + "\n# \ud800\n")))
    summary = score_samples(samples, ScoreConfig("humaneval", workers=1))
    results = [json.loads(line) for line in (tmp_path / "eval_results.jsonl").read_text().splitlines()]
    assert [r["base"]["status"] for r in results] == ["pass", "fail"]
    assert json.loads((tmp_path / "pass_at_k.json").read_text())["n_samples"] == summary["n_samples"] == 2


@pytest.mark.parametrize("task_id", ["9" * 5000, '"x' + "9" * 5000 + '"'])
def test_an_overlong_task_id_is_a_samples_error_naming_its_line(tmp_path, task_id):
    from divlab.codeeval.samples import SamplesError

    samples = tmp_path / "samples.jsonl"
    samples.write_text('{"task_id": "HumanEval/2", "completion": "    return 0.0\\n"}\n'
                       f'{{"task_id": {task_id}, "completion": "    return 0.0\\n"}}\n')
    with pytest.raises(SamplesError, match=r"samples.jsonl: line 2") as info:
        score_samples(samples, ScoreConfig("humaneval", workers=1))
    assert len(str(info.value)) < 1000


# -- 4. no kernel keyring shared between the samples of a zygote -----------------------------------------
KEY_WRITER = """
import ctypes
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall(248, b"user", b"DESCRIPTION", b"secret", 6, ctypes.c_int(-4))  # add_key(..., KEY_SPEC_USER_KEYRING)
def truncate_number(number):
    return number % 1.0
"""
KEY_READER = """
import ctypes
def truncate_number(number):
    found = ctypes.CDLL(None).syscall(250, 10, ctypes.c_int(-4), b"user", b"DESCRIPTION", 0) >= 0  # KEYCTL_SEARCH
    return -1.0 if found else number % 1.0
"""


@needs_namespaces
@pytest.mark.parametrize("start", STARTS)
def test_a_key_one_sample_leaves_in_the_user_keyring_is_not_found_by_the_next(tmp_path, monkeypatch, start):
    if start == "fresh interpreter":
        monkeypatch.setenv("DIVLAB_SANDBOX_ZYGOTE", "0")
    description = f"divlab-redteam-{os.getpid()}-{time.time_ns()}"
    rows = [{"task_id": "HumanEval/2", "solution": code.replace("DESCRIPTION", description)}
            for code in (KEY_WRITER, KEY_READER)]
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    score_samples(samples, ScoreConfig("humaneval", workers=1))  # one worker: one zygote runs both
    results = [json.loads(line) for line in (tmp_path / "eval_results.jsonl").read_text().splitlines()]
    assert results[0]["base"]["status"] == "pass", results[0]
    assert results[1]["base"]["status"] == "pass", f"the second sample found the first one's key: {results[1]}"


# -- 5. /dev is read-only (run as an ordinary user, its tmpfs belonged to the program's uid) -------------
DEV_CHECKER = """
def truncate_number(number):
    with open("/proc/self/mountinfo") as f:
        dev = [line.split() for line in f if line.split()[4] == "/dev"]
    with open("/dev/null", "w") as f:  # the device nodes stay usable
        f.write("x")
    return number % 1.0 if dev and all("ro" in fields[5].split(",") for fields in dev) else -1.0
"""


@needs_namespaces
@pytest.mark.parametrize("start", STARTS)
def test_the_programs_dev_is_read_only(tmp_path, monkeypatch, start):
    if start == "fresh interpreter":
        monkeypatch.setenv("DIVLAB_SANDBOX_ZYGOTE", "0")
    _, results = _score_rows(tmp_path, "humaneval", [{"task_id": "HumanEval/2", "solution": DEV_CHECKER}])
    assert results[0]["base"]["status"] == "pass", results[0]
