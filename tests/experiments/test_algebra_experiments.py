"""E7 as sweeps: the generalist and specialist smoke presets run end to end through the CLI (dataset ->
from-scratch GPT-2 -> exact match on unseen rules, seen rules and deeper patterns -> report with a verdict),
and the paper's LLM path runs with a tiny model built from a config."""

import json

from divlab.experiments.spec import load_experiment
from divlab.sweep.store import ResultStore
from tests.conftest import run_cli


def _results(run_dir):
    with ResultStore(run_dir) as store:
        return [(r["point"], r["status"], r["result"]) for r in store.rows()]


def test_e7_generalist_and_specialist_smoke_sweeps(tmp_path):
    out = tmp_path / "general"
    run_cli("reproduce", "e7", "--preset", "smoke", "--out", str(out), "--workers", "1", "--threads", "1", "--quiet")
    rows = _results(out)
    assert [status for _, status, _ in rows] == ["done", "done"]
    for point, _, result in rows:
        assert result["unseen"]["examples"] == 30 and result["seen"]["examples"] == 30 and "depth" not in result
    manifest = json.loads(next((out / "datasets").glob("*/manifest.json")).read_text())
    assert manifest["task"] == "algebra" and manifest["config"]["rule_source"] == "random"
    page = (out / "report" / "index.html").read_text()
    assert 'class="verdict"' in page and "more distinct rules" in page

    out = tmp_path / "special"
    run_cli("reproduce", "e7", "--preset", "specialist-smoke", "--out", str(out), "--workers", "1", "--threads", "1", "--quiet")
    rows = _results(out)
    assert {p["diversification"] for p, _, _ in rows} == {"none", "4 rules, 20 %"}
    for _, status, result in rows:
        assert status == "done" and result["depth"]["examples"] == 30  # seen rules at unseen pattern depths
    assert "deeper patterns" in (out / "report" / "index.html").read_text()


def test_e7_presets_resolve_to_the_papers_settings():
    cells = load_experiment("e7", "paper").cells()
    assert [c.config["dataset"]["num_train_rules"] for c in cells] == [10, 20, 40]
    assert {c.config["dataset"]["num_test_rules"] for c in cells} == {10} and cells[0].config["kind"] == "algebra-llm"
    assert load_experiment("e7", "paper").requires == ("cuda", "hub")
    special = load_experiment("e7", "specialist-paper").cells()
    shares = [(c.config["dataset"]["diver_rules"], c.config["dataset"]["diver_share"]) for c in special]
    assert shares == [(0, 0.0), (5, 0.02), (20, 0.1), (40, 0.2)]  # 1:49, 5:45, 10:40 of every 50
    assert {c.config["dataset"]["num_train_rules"] - c.config["dataset"]["diver_rules"] for c in special} == {20}


def test_e7_on_a_pretrained_lm_end_to_end(tiny, tmp_path):
    preset = tmp_path / "e7.toml"
    preset.write_text(f'''kind = "algebra-llm"
[dataset]
rule_source = "curated"
num_test_rules = 2
depth = [1, 1]
pattern_depth = [1, 1]
test_pattern_depth = [2, 2]
budget = 16
num_test_examples = 6
num_seen_test_examples = 4
notation = "infix"
prompt = "Rule {{x}} = {{y}}. Apply once to {{z}}"
[model]
name = "{tiny}"
[finetune]
lr = 1e-3
max_steps = 2
max_length = 256
save_steps = 1
[eval]
batch_size = 6
[grid]
"dataset.num_train_rules" = [2, 4]
[report]
kind = "e7"
''')
    out = tmp_path / "run"
    result = run_cli("reproduce", "e7", "--preset", str(preset), "--out", str(out), "--workers", "1", "--quiet")
    assert "2 done" in result.stdout, result.stdout
    for _, _, res in _results(out):
        assert res["unseen"]["examples"] == 6 and res["seen"]["examples"] == 4 and res["depth"]["examples"] == 6
    row = json.loads(open(next((out / "datasets").glob("*/train.jsonl"))).readline())
    assert row["prompt"].startswith("Rule ") and row["completion"] == row["target"]
