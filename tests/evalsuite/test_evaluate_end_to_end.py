"""`divlab evaluate` end to end with SmolLM2-135M-Instruct (PyPI) on the first example of each offline benchmark,
then resumed: finished benchmarks are never scored twice."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli

pytest.importorskip("lm_eval")


@pytest.mark.slow
def test_evaluate_smollm2_on_the_offline_suite_and_resume(tmp_path):
    out = tmp_path / "scores"
    args = ("evaluate", "smollm2-135m-instruct", "--suite", "generalist-cpu", "--out", str(out), "--limit", "1",
            "--set", "max_gen_toks=24", "--set", 'subtasks.bbh=["navigate", "web_of_lies"]')
    env = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    import os

    first = run_cli(*args, env={**os.environ, **env})
    scores = json.loads((out / "scores.json").read_text())
    benchmarks = ["humaneval", "mbpp", "gsm8k", "mmlu", "ifeval", "bbh"]
    assert list(scores["benchmarks"]) == benchmarks
    for name, result in scores["benchmarks"].items():
        assert 0.0 <= result["score"] <= 100.0, (name, result)
        assert result["source"].startswith("local:")
    assert scores["benchmarks"]["bbh"]["examples"] == 2 and scores["benchmarks"]["gsm8k"]["examples"] == 1
    assert set(scores["benchmarks"]["ifeval"]["metrics"]) == {"prompt_level_strict", "inst_level_strict",
                                                             "prompt_level_loose", "inst_level_loose"}
    assert scores["partial_data"] and set(scores["not_run"]) == {"math", "theoremqa"}
    aggregates = scores["aggregates"]
    assert aggregates["missing"] == [] and aggregates["if"] == scores["benchmarks"]["ifeval"]["score"]
    assert aggregates["overall"] == pytest.approx(sum(r["score"] for r in scores["benchmarks"].values()) / 6)
    assert "not run: math" in first.stdout
    for name in ("gsm8k", "mmlu", "ifeval", "bbh"):
        replies = [json.loads(line) for line in (out / name / "samples.jsonl").read_text().splitlines()]
        assert replies and all(r["reply"] for r in replies)

    # Again: every benchmark is done, none is run (no benchmark line printed) and the results stay as they were.
    before = {name: (out / name / "result.json").read_text() for name in benchmarks}
    again = run_cli(*args, env={**os.environ, **env})
    assert "[generalist-cpu]" not in again.stdout
    assert before == {name: (out / name / "result.json").read_text() for name in benchmarks}

    # A benchmark interrupted after answering: its answers come back from lm-eval's request cache.
    (out / "ifeval" / "result.json").unlink()
    replies = (out / "ifeval" / "samples.jsonl").read_text()
    third = run_cli(*args, env={**os.environ, **env})
    assert "[generalist-cpu] ifeval" in third.stdout and "[generalist-cpu] gsm8k" not in third.stdout
    assert (out / "ifeval" / "samples.jsonl").read_text() == replies
    assert json.loads((out / "ifeval" / "result.json").read_text())["score"] == scores["benchmarks"]["ifeval"]["score"]

    # Another suite setting into the same directory is refused, naming the field.
    refused = run_cli(*args[:-4], "--set", "max_gen_toks=8", env={**os.environ, **env}, check=False)
    assert refused.returncode == 2 and "max_gen_toks" in refused.stderr
