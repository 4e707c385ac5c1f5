"""E8 as a sweep: the smoke preset runs end to end through the CLI (programs -> from-scratch GPT-2 -> exact
match on unseen and seen programs -> report whose verdict says what happened to the threshold per k)."""

from divlab.experiments.spec import load_experiment
from divlab.report.program import check_e8
from divlab.sweep.store import ResultStore
from tests.conftest import run_cli


def test_e8_smoke_sweep_end_to_end(tmp_path):
    out = tmp_path / "e8"
    run_cli("reproduce", "e8", "--preset", "smoke", "--out", str(out), "--workers", "1", "--threads", "1", "--quiet")
    with ResultStore(out) as store:
        rows = store.rows()
    assert len(rows) == 6 and {r["status"] for r in rows} == {"done"}
    assert {r["config"]["dataset"]["rules_per_program"][0] for r in rows} == {1, 2}
    for row in rows:
        assert row["result"]["unseen"]["examples"] == 30 and 0 <= row["result"]["unseen"]["accuracy"] <= 1
    page = (out / "report" / "index.html").read_text()
    assert "E8 result" in page and "k = 1" in page and "k = 2" in page


def test_e8_verdict_names_the_threshold_shift():
    def rows(k, accuracies):
        return [{"point": {"dataset.num_train_programs": count}, "config": {"dataset": {"rules_per_program": [k, k]}},
                 "result": {"unseen": {"accuracy": a}}} for count, a in zip([16, 64, 256, 1024, 4096], accuracies)]

    early, late = rows(1, [0.0, 0.05, 0.9, 1.0, 1.0]), rows(3, [0.0, 0.0, 0.0, 0.02, 0.95])
    assert "shifts up as k grows" in check_e8(early + late).reason
    assert "vanishes past k = 1" in check_e8(early + rows(3, [0.0] * 5)).reason
    assert check_e8(early[:2]).status == "not enough data"


def test_e8_presets_cover_k_one_to_three_on_cpu():
    cells = load_experiment("e8", "cpu").cells()
    assert {tuple(c.config["dataset"]["rules_per_program"]) for c in cells} == {(1, 1), (2, 2), (3, 3)}
    assert {c.config["dataset"]["terminating_rate"] for c in cells if c.config["dataset"]["rules_per_program"][0] == 1} == {1.0}
    assert load_experiment("e8", "paper").requires == ("cuda",)
