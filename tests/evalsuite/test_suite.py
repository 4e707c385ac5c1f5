"""Suites: presets, planning, and every refusal made before a model is loaded."""

from __future__ import annotations

import gzip
import json

import pytest

from divlab.errors import ConfigError, DataError
from divlab.evalsuite import load_suite
from divlab.evalsuite.run import SuiteError, evaluate_suite, plan_suite
from tests.conftest import SHARED_DATA, run_cli

pytest.importorskip("lm_eval")


@pytest.fixture
def no_model(monkeypatch):
    """Loading a model fails the test: every refusal must come first."""
    import divlab.models.pretrained as pretrained

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded before the refusal")

    monkeypatch.setattr(pretrained, "load_causal_lm", refuse)
    monkeypatch.setattr(pretrained, "convert_gguf", refuse)


def test_presets_load_and_the_offline_suite_says_what_it_leaves_out():
    full = load_suite("generalist")
    offline = load_suite("generalist-offline")
    assert set(full.benchmarks) - set(offline.benchmarks) == {"math", "theoremqa"}
    assert set(offline.omitted) == {"math", "theoremqa"} and "online only" in offline.omitted["math"]
    assert load_suite("generalist-cpu").limit_of("bbh") == 1 and load_suite("generalist-cpu").limit_of("gsm8k") == 4


def test_offline_plan_reads_every_benchmark_from_local_files():
    plan = plan_suite(load_suite("generalist-offline"), hub_reachable=lambda: False)
    assert [p.benchmark.name for p in plan] == ["humaneval", "mbpp", "gsm8k", "mmlu", "ifeval", "bbh"]
    assert all(p.source.kind == "local" for p in plan)
    rows = {p.benchmark.name: p.rows for p in plan}
    assert rows["gsm8k"] == 1319 and rows["ifeval"] == 541 and rows["bbh"] == 6511 and rows["mbpp"] == 974
    assert next(p for p in plan if p.benchmark.name == "gsm8k").few_shot.location.endswith("gsm8k/train.jsonl.gz")


def test_online_only_benchmarks_are_refused_offline_before_the_model(no_model, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SuiteError, match=r"theoremqa: not available offline: it has no offline copy.*generalist-offline"):
        evaluate_suite("some/model", load_suite("generalist", {"benchmarks": ["gsm8k", "theoremqa"]}), tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_a_malformed_local_file_is_named_with_line_and_field(no_model, tmp_path):
    rows = [json.loads(line) for line in gzip.open(SHARED_DATA / "gsm8k" / "test.jsonl.gz", "rt")][:3]
    del rows[1]["answer"]
    bad = tmp_path / "gsm8k.jsonl"
    bad.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = load_suite("generalist-offline", {"benchmarks": ["gsm8k"], "data": {"gsm8k": str(bad)}})
    with pytest.raises(DataError, match=rf"{bad}: line 2 has no field 'answer'"):
        evaluate_suite("some/model", config, tmp_path / "o")
    bad.write_text('{"question": "q", "answer": "a"}\nnot json\n')
    with pytest.raises(DataError, match=rf"{bad}: line 2"):
        evaluate_suite("some/model", config, tmp_path / "o")


def test_a_model_too_large_for_memory_is_refused_before_loading(no_model, tmp_path, monkeypatch):
    import divlab.models.pretrained as pretrained

    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"\0" * 4096)
    monkeypatch.setattr(pretrained, "available_memory_bytes", lambda: 1024)
    with pytest.raises(pretrained.ModelError, match="too large for evaluation"):
        evaluate_suite(str(model), load_suite("generalist-offline", {"benchmarks": ["gsm8k"]}), tmp_path / "o")


def test_bad_suite_fields_are_named():
    with pytest.raises(ConfigError, match="benchmarks='apps'"):
        load_suite("generalist", {"benchmarks": ["gsm8k", "apps"]})
    with pytest.raises(ConfigError, match="limit=-1"):
        load_suite("generalist", {"limit": -1})
    with pytest.raises(ConfigError, match="shots=5: unknown suite field"):
        load_suite("generalist", {"shots": 5})
    with pytest.raises(ConfigError, match="subtasks.bbh='chess'"):
        plan_suite(load_suite("generalist-offline", {"benchmarks": ["bbh"], "subtasks": {"bbh": ["navigate", "chess"]}}),
                   hub_reachable=lambda: False)


def test_cli_refuses_in_one_line(tmp_path):
    env = {"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "DIVLAB_DATA": str(tmp_path / "empty")}
    failed = run_cli("evaluate", "some/model", "--suite", "generalist-offline", "--out", str(tmp_path / "o"),
                     check=False, env=env)
    assert failed.returncode == 2 and len(failed.stderr.strip().splitlines()) == 1
    assert "gsm8k: not available offline: its file gsm8k/test.jsonl.gz is in no data directory" in failed.stderr
    listed = run_cli("evaluate", "--list-suites")
    assert listed.stdout.split() == ["generalist", "generalist-cpu", "generalist-offline"]
