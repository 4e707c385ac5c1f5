"""The generalist experiment (Table 3) end to end at smoke scale with a tiny GPT-2 built from a config:
mix -> LoRA -> suite (lm-eval benchmarks and the sandboxed MBPP) -> Table 3 report with the paper's numbers."""

from __future__ import annotations

import pytest

from divlab.experiments.spec import load_experiment
from divlab.report.generalist import check_table_3
from divlab.sweep.store import ResultStore
from tests.conftest import SHARED_DATA, run_cli

pytest.importorskip("lm_eval")


@pytest.mark.slow
def test_generalist_chain_end_to_end_and_resumes(tiny, tmp_path):
    preset = tmp_path / "generalist.toml"
    preset.write_text(f'''kind = "generalist"
[mix]
recipe = "generalist-cpu/ui-al"
budget = 12
"sources.ui.path" = "{SHARED_DATA / 'gsm8k' / 'train.jsonl.gz'}"
"sources.al.path" = "{SHARED_DATA / 'alpaca' / 'seed_tasks.jsonl.gz'}"
[model]
name = "{tiny}"
[finetune]
lr = 1e-3
max_steps = 2
max_length = 128
save_steps = 1
[suite]
name = "generalist-cpu"
benchmarks = ["mbpp", "gsm8k", "ifeval", "bbh"]
subtasks = {{ bbh = ["navigate"] }}
limit = 2
max_gen_toks = 8
batch_size = 2
[grid]
"mix.counts.al" = [0, 6]
[report]
kind = "generalist"
''')
    out = tmp_path / "run"
    env_args = dict(env={**__import__("os").environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"})
    result = run_cli("reproduce", "generalist", "--preset", str(preset), "--out", str(out), "--workers", "1",
                     "--quiet", **env_args)
    assert "2 done" in result.stdout, result.stdout
    store = ResultStore(out)
    try:
        rows = store.rows()
    finally:
        store.close()
    assert sorted(r["result"]["counts"]["al"] for r in rows) == [0, 6]
    for row in rows:
        res = row["result"]
        assert row["status"] == "done" and row["attempts"] == 1
        assert set(res["scores"]) == {"mbpp", "gsm8k", "ifeval", "bbh"}
        assert all(0 <= v <= 100 for v in res["scores"].values())
        assert res["aggregates"]["overall"] == pytest.approx(sum(res["scores"].values()) / 4)
        assert res["finetune"]["steps"] == 2 and res["partial_data"]
    report = (out / "report" / "index.html").read_text()
    assert "Mistral-7B-v0.3" in report and "47.59" in report and "Overall w/o Math" in report
    again = run_cli("reproduce", "generalist", "--preset", str(preset), "--out", str(out), "--workers", "1",
                    "--quiet", **env_args)
    assert "2 done" in again.stdout
    store = ResultStore(out)
    try:
        assert all(r["attempts"] == 1 for r in store.rows())
    finally:
        store.close()


def _row(total, counts, overall, base="ui"):
    return {"cell_id": "c", "point": {}, "seed": 0,
            "result": {"total": total, "counts": counts, "base": base, "scores": {},
                       "aggregates": {"overall": overall, "if": None, "overall_without_if": None,
                                      "overall_without_math": None, "missing": []},
                       "finetune": {"steps": 1, "train_loss": 1.0}, "wall_s": 1.0}}


def test_verdict_diversified_mixtures_against_base_only_at_the_same_total():
    rows = [_row(20, {"ui": 20, "oo": 0}, 39.07), _row(20, {"ui": 10, "oo": 10}, 44.93),
            _row(20, {"ui": 10, "al": 10}, 44.78)]
    verdict = check_table_3(rows)
    assert verdict.status == "shown" and "2 of 2" in verdict.reason
    rows[2] = _row(20, {"ui": 10, "al": 10}, 38.0)
    assert check_table_3(rows).status == "not shown" and "1 of 2" in check_table_3(rows).reason
    assert check_table_3(rows[1:]).status == "not enough data"


def test_generalist_presets_resolve_and_say_what_they_need(tmp_path, monkeypatch):
    cells = load_experiment("generalist", "paper").cells()
    assert len(cells) == 18 and {c.config["suite"]["name"] for c in cells} == {"generalist"}
    assert sorted(c.config["mix"]["total"] for c in cells)[::6] == [20000, 40000, 60000]
    assert {c.config["finetune"]["lr"] for c in cells} == {1e-5}
    for preset in ("cpu", "smoke"):
        assert load_experiment("generalist", preset).cells()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    failed = run_cli("reproduce", "generalist", "--preset", "paper", "--out", str(tmp_path / "p"), check=False)
    assert failed.returncode == 2 and "needs cuda" in failed.stderr and not (tmp_path / "p").exists()
