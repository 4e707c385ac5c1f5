"""The parent alone decides how each output is compared, from the expected side: what a program writes
into its result pipe is only ever a candidate value (or a digest when the parent asked for one)."""

import json

import pytest

from divlab.codeeval import ScoreConfig, load_benchmark, score_samples
from divlab.codeeval.sandbox import isolation
from tests.codeeval.conftest import DATA

# Writes its own result document, every output claimed as a digest equal to the marker the old parent
# used for small expected outputs ("small"), into every descriptor, then exits before the runner writes.
FORGER = '''
import os
LINE = '{"digest": "small", "size": 0, "seconds": 0, "encoding": 0}'
FORGED = ('{"results": [' + ', '.join([LINE] * 20000) + ']}').encode()
def ENTRY(*args):
    for name in os.listdir('/proc/self/fd'):
        try:
            os.write(int(name), FORGED)
        except OSError:
            pass
    os._exit(0)
'''


@pytest.mark.skipif(isolation()[1] != "namespaces", reason="needs user/network namespaces (the full sandbox)")
@pytest.mark.parametrize("benchmark_name, task_id", [("humaneval+", "HumanEval/2"), ("mbpp+", "Mbpp/2")])
def test_a_program_cannot_claim_its_outputs_are_digests_of_small_expected_ones(tmp_path, benchmark_name, task_id):
    problem = load_benchmark(benchmark_name, DATA[benchmark_name]).problems[task_id]
    samples = tmp_path / "samples.jsonl"
    samples.write_text(json.dumps({"task_id": task_id, "solution": FORGER.replace("ENTRY", problem.entry_point)}) + "\n")
    score_samples(samples, ScoreConfig(benchmark_name, data=DATA[benchmark_name], workers=1))
    result = json.loads((tmp_path / "eval_results.jsonl").read_text())
    assert result["base"]["status"] == "fail", result
    assert result["plus"]["status"] != "pass", result
