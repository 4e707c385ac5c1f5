"""The parent alone decides how each output is compared, from the expected side: what a program writes
into its result pipe is only ever a candidate value (or a digest when the parent asked for one)."""

import json

import pytest

from divlab.codeeval import ScoreConfig, load_benchmark, score_samples
from divlab.codeeval.sandbox import isolation
from tests.codeeval.conftest import DATA

# Writes its own result document, every output claimed as a digest equal to the marker the old parent
# used for small expected outputs ("small"), into every descriptor, then exits before the runner writes;
# and the same claim in today's record format (a digest record where the parent asked for a value).
FORGERIES = {
    "old document": """('{"results": [' + ', '.join(['{"digest": "small", "size": 0, "seconds": 0, "encoding": 0}'] * 20000)
              + ']}').encode()""",
    # the runner has written "ready"; both tasks' base suites have 3 inputs
    "digest records": """(('digest 0.0 0.0 ' + '0' * 64 + ' 0\\n') * 3).encode()""",
}
FORGER = '''
import os
FORGED = FORGERY
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
    samples.write_text("".join(json.dumps({"task_id": task_id, "solution": FORGER.replace("ENTRY", problem.entry_point)
                                           .replace("FORGERY", forgery)}) + "\n" for forgery in FORGERIES.values()))
    score_samples(samples, ScoreConfig(benchmark_name, data=DATA[benchmark_name], workers=1))
    for name, line in zip(FORGERIES, (tmp_path / "eval_results.jsonl").read_text().splitlines()):
        result = json.loads(line)
        assert result["base"]["status"] != "pass" and result["plus"]["status"] != "pass", (name, result)
