"""The pretrained-LLM experiments end to end at smoke scale on CPU, with a tiny GPT-2 built from a config:
code-mix (mix -> LoRA -> generate -> sandboxed score) and E6 (encrypted data -> LoRA -> greedy exact match)."""

import json

import pytest

from divlab.experiments.spec import load_experiment
from divlab.sweep.store import ResultStore
from divlab.errors import ConfigError
from tests.conftest import SHARED_DATA, run_cli


def _rows(run_dir):
    store = ResultStore(run_dir)
    try:
        return [(r["point"], r["status"], r["attempts"], r["result"]) for r in store.rows()]
    finally:
        store.close()


@pytest.mark.slow
def test_code_mix_chain_end_to_end_and_resumes(tiny, tmp_path):
    preset = tmp_path / "code-mix.toml"
    preset.write_text(f'''kind = "code-mix"
[mix]
recipe = "code-cpu/alpaca-0"
budget = 12
"sources.code.path" = "{SHARED_DATA / 'code_alpaca' / 'code_alpaca_2k.json.gz'}"
"sources.general.path" = "{SHARED_DATA / 'alpaca' / 'seed_tasks.jsonl.gz'}"
[model]
name = "{tiny}"
[finetune]
lr = 1e-3
max_steps = 2
max_length = 128
save_steps = 1
[codeeval]
benchmarks = ["humaneval", "mbpp+"]
data = {{ "mbpp+" = "{SHARED_DATA / 'evalplus' / 'MbppPlus-v0.2.0.jsonl.gz'}" }}
limit = 2
max_new_tokens = 8
batch_size = 2
[grid]
"mix.counts.general" = [0, 4, 8]
[report]
kind = "code-mix"
''')
    out = tmp_path / "run"
    result = run_cli("reproduce", "code-mix", "--preset", str(preset), "--out", str(out), "--workers", "1", "--quiet")
    assert "3 done" in result.stdout, result.stdout
    rows = _rows(out)
    shares = sorted(r[3]["general_share"] for r in rows)
    assert shares == [0.0, 4 / 12, 8 / 12]
    for point, status, attempts, res in rows:
        assert status == "done" and attempts == 1
        assert set(res["scores"]) == {"humaneval", "mbpp+"}
        assert res["scores"]["humaneval"]["tasks"] == 2 and res["scores"]["mbpp+"]["tasks"] == 2
        assert set(res["scores"]["mbpp+"]) >= {"base", "plus"}
        assert res["finetune"]["steps"] == 2 and res["finetune"]["prompt_format"] == "chat"
        assert res["counts"]["general"] == point["mix.counts.general"]
    # The mixtures nest (same seed): the 4 general examples are among the 8.
    manifests = [json.loads(p.read_text()) for p in sorted((out / "datasets").glob("*/manifest.json"))]
    general = sorted(({e["index"] for e in m["examples"] if e["source"] == "general"} for m in manifests), key=len)
    assert general[0] < general[1] < general[2] or (not general[0] and general[1] < general[2])
    report = (out / "report" / "index.html").read_text()
    assert "paper" in report and "DeepSeek" in report and "This run" in report
    assert (out / "report" / "code-mix.png").is_file()
    # Run again: nothing left to do, nothing run twice.
    again = run_cli("reproduce", "code-mix", "--preset", str(preset), "--out", str(out), "--workers", "1", "--quiet")
    assert "3 done" in again.stdout and all(r[2] == 1 for r in _rows(out))


@pytest.mark.slow
def test_e6_encrypted_end_to_end(tiny, tmp_path):
    preset = tmp_path / "e6.toml"
    preset.write_text(f'''kind = "encrypted"
[dataset]
alphabet = "abcdef"
x_len = [1, 2]
y_len = [1, 2]
z_len = [6, 6]
occurrences = 1
noop_fraction = 0.4
budget = 24
num_test_rules = 4
num_test_examples = 10
num_seen_test_examples = 5
[model]
name = "{tiny}"
[finetune]
lr = 1e-3
max_steps = 2
max_length = 256
save_steps = 1
[eval]
batch_size = 5
[grid]
"dataset.num_train_rules" = [2, 6]
[report]
kind = "e6"
''')
    out = tmp_path / "run"
    result = run_cli("reproduce", "e6", "--preset", str(preset), "--out", str(out), "--workers", "1", "--quiet")
    assert "2 done" in result.stdout, result.stdout
    for point, status, _, res in _rows(out):
        assert res["unseen"]["examples"] == 10 and res["seen"]["examples"] == 5
        assert 0 <= res["unseen"]["accuracy"] <= 1
        manifest = json.loads(next((out / "datasets").glob("*/manifest.json")).read_text())
        assert manifest["task"] == "encrypted" and sorted(manifest["cipher"]) == list("abcdef")
    assert "unseen has-op" in (out / "report" / "index.html").read_text()


def test_llm_experiment_presets_validate_and_bad_values_are_named():
    for experiment in ("code-mix", "e6"):
        for preset in ("paper", "cpu", "smoke"):
            assert load_experiment(experiment, preset).cells()
    cells = load_experiment("code-mix", "paper").cells()
    assert [c.config["mix"]["final_counts"]["alpaca"] for c in cells] == [0, 1000, 2000, 3000, 4000, 5000]
    assert {c.config["finetune"]["lr"] for c in cells} == {1e-5}


def test_bad_code_mix_preset_fails_before_any_cell(tmp_path):
    preset = tmp_path / "bad.toml"
    preset.write_text('kind = "code-mix"\n[mix]\nrecipe = "code-cpu/alpaca-0"\n[model]\nname = "m"\n'
                      '[codeeval]\nbenchmarks = ["humaneval", "apps"]\n')
    with pytest.raises(ConfigError, match="codeeval.benchmarks='apps'"):
        load_experiment("code-mix", str(preset))
    preset.write_text('kind = "code-mix"\n[mix]\nrecipe = "code-cpu/alpaca-0"\n[model]\nname = "m"\n'
                      '[grid]\n"mix.counts.general" = [0, 5000]\n')
    with pytest.raises(ConfigError, match="exceed the budget"):
        load_experiment("code-mix", str(preset))
    failed = run_cli("reproduce", "code-mix", "--preset", str(preset), "--out", str(tmp_path / "o"), check=False)
    assert failed.returncode == 2 and "exceed the budget" in failed.stderr and not (tmp_path / "o").exists()


def test_paper_presets_say_what_they_need_before_running(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    failed = run_cli("reproduce", "code-mix", "--preset", "paper", "--out", str(tmp_path / "p"), check=False)
    assert failed.returncode == 2 and "needs cuda (a CUDA GPU" in failed.stderr and "'cpu' preset" in failed.stderr
    assert not (tmp_path / "p").exists()
    assert load_experiment("e6", "paper").requires == ("cuda", "hub")
