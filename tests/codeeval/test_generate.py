"""Generation end to end on CPU with a tiny GPT-2 and tokenizer built here (no download, no hub)."""

import json

import pytest

from divlab.errors import ConfigError
from divlab.codeeval.benchmarks import load_benchmark
from divlab.codeeval.generate import GenerateConfig, GenerationError, generate_samples, truncate_at_stops
from tests.conftest import make_tiny_lm, run_cli


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    texts = [p.prompt + p.canonical_solution for p in load_benchmark("humaneval").problems.values()]
    return make_tiny_lm(tmp_path_factory.mktemp("tiny-gpt2"), texts)


@pytest.mark.slow
def test_generate_then_score_end_to_end_and_resume(tiny_model, tmp_path):
    out = tmp_path / "run"
    run_cli("codeeval", "generate", "--model", str(tiny_model), "--benchmark", "humaneval", "--limit", "3",
            "--max-new-tokens", "16", "--batch-size", "2", "--out", str(out))
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert [r["task_id"] for r in rows] == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]
    assert all(isinstance(r["completion"], str) for r in rows)
    meta = json.loads((out / "generation.json").read_text())
    assert meta["benchmark"]["name"] == "humaneval" and meta["config"]["temperature"] == 0.0

    # A rerun with the same settings has nothing left to do; greedy output is reproducible.
    run_cli("codeeval", "generate", "--model", str(tiny_model), "--benchmark", "humaneval", "--limit", "3",
            "--max-new-tokens", "16", "--batch-size", "2", "--out", str(out))
    assert [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()] == rows
    again = tmp_path / "again"
    generate_samples(GenerateConfig(str(tiny_model), "humaneval", limit=3, max_new_tokens=16, batch_size=3), again)
    assert [json.loads(line) for line in (again / "samples.jsonl").read_text().splitlines()] == rows

    # Other settings into the same directory are refused, naming what differs.
    refused = run_cli("codeeval", "generate", "--model", str(tiny_model), "--benchmark", "humaneval", "--limit", "3",
                      "--max-new-tokens", "32", "--out", str(out), check=False)
    assert refused.returncode == 2 and "max_new_tokens" in refused.stderr

    # Scoring reads the benchmark from generation.json; an untrained model passes nothing.
    scored = run_cli("codeeval", "score", str(out))
    assert "pass@1 = 0.0000" in scored.stdout
    assert len((out / "eval_results.jsonl").read_text().splitlines()) == 3


@pytest.mark.slow
def test_sampling_n_per_task_and_chat_style(tiny_model, tmp_path):
    config = GenerateConfig(str(tiny_model), "humaneval", limit=2, n=3, temperature=0.8, max_new_tokens=8,
                            prompt_style="chat", seed=1)
    path = generate_samples(config, tmp_path / "chat")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["task_id"] for r in rows] == ["HumanEval/0"] * 3 + ["HumanEval/1"] * 3
    assert all("raw" in r and "solution" in r for r in rows)
    # Interrupted mid-task (a line cut in half): the rerun completes exactly what is missing.
    text = path.read_text()
    path.write_text(text[: text.index("\n", len(text) // 2) + 5])
    generate_samples(config, tmp_path / "chat")
    resumed = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["task_id"] for r in resumed] == [r["task_id"] for r in rows]


def test_bad_generation_settings_are_named():
    with pytest.raises(ConfigError, match="temperature > 0"):
        GenerateConfig("m", "humaneval", n=5)
    with pytest.raises(ConfigError, match="prompt_style='instruct': must be base or chat"):
        GenerateConfig("m", "humaneval", prompt_style="instruct")
    assert truncate_at_stops("    return 1\ndef other():\n", ("\ndef ",)) == "    return 1"
    assert issubclass(GenerationError, Exception)
