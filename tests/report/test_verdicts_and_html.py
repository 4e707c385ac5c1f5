"""Verdicts of every experiment, three-valued, on hand-made rows; and the HTML report from a store."""

import json

from divlab.experiments import load_experiment
from divlab.report import write_report
from divlab.report.llm import check_code_mix, check_e6
from divlab.report.verdicts import check_e2, check_e3, check_e4
from divlab.sweep.store import ResultStore

I = "dataset.num_train_rules"


def _row(point, unseen=0.0, has_op=None, no_op=None, seen=None):
    return {"point": point, "result": {"unseen": {"accuracy": unseen, "has_op_accuracy": has_op, "no_op_accuracy": no_op},
                                       "seen": {"accuracy": unseen if seen is None else seen}}}


def test_e2_has_op_rises_and_ignores_the_noop_share():
    rows = [_row({I: i, "dataset.noop_fraction": f}, has_op=a) for i, f, a in
            [(10, 0.0, 0.05), (10, 0.5, 0.1), (1000, 0.0, 0.9), (1000, 0.5, 0.85)]]
    assert check_e2(rows).status == "shown"
    rows[3]["result"]["unseen"]["has_op_accuracy"] = 0.6  # the share moves it by 0.3
    assert check_e2(rows).status == "not shown" and "moves it by 0.30" in check_e2(rows).reason
    assert check_e2(rows[:2]).status == "not enough data"


def test_e3_skew_hurts_few_instructions_only():
    rows = [_row({I: i, "shape": s}, a) for i, s, a in
            [(100, "uniform", 0.6), (100, "α=0.1", 0.1), (2000, "uniform", 0.9), (2000, "α=0.1", 0.85)]]
    assert check_e3(rows).status == "shown"
    rows[3]["result"]["unseen"]["accuracy"] = 0.4
    assert check_e3(rows).status == "not shown"
    assert check_e3([r for r in rows if r["point"]["shape"] == "uniform"]).status == "not enough data"


def test_e4_only_the_mixture_generalizes():
    rows = [_row({I: 500, "constraint": c}, a) for c, a in [("repeat k 2-4", 0.1), ("mirror", 0.2), ("all three", 0.7)]]
    assert check_e4(rows).status == "shown"
    rows[2]["result"]["unseen"]["accuracy"] = 0.25
    assert check_e4(rows).status == "not shown"
    assert check_e4(rows[:2]).status == "not enough data" and check_e4([]).status == "not enough data"
    # A control trained on free rules is neither a single family nor the mixture: it says the test is learnable.
    control = rows + [_row({I: 500, "constraint": "free (control)"}, 0.9)]
    verdict = check_e4(control)
    assert verdict.status == "not shown" and "reaches 0.90" in verdict.reason


def _code_row(share, avg):
    return {"point": {}, "result": {"general_share": share, "avg": avg}}


def test_code_mix_needs_a_sweet_spot():
    rows = [_code_row(0.0, 0.30), _code_row(0.1, 0.35), _code_row(0.5, 0.31)]
    assert check_code_mix(rows).status == "shown"
    rows[2]["result"]["avg"] = 0.40  # still rising at the largest share
    assert check_code_mix(rows).status == "not shown"
    assert check_code_mix(rows[:2]).status == "not enough data"
    assert check_code_mix([_code_row(0.0, None), _code_row(0.1, 0.3), _code_row(0.5, 0.2)]).status == "not enough data"


def test_e6_more_instructions_lift_has_op():
    rows = [_row({I: 4}, has_op=0.0, no_op=0.9), _row({I: 400}, has_op=0.5, no_op=0.9)]
    assert check_e6(rows).status == "shown"
    rows[1]["result"]["unseen"]["has_op_accuracy"] = 0.1
    assert check_e6(rows).status == "not shown"
    assert check_e6(rows[:1]).status == "not enough data"


def test_html_report_of_a_store(tmp_path):
    cells = load_experiment("e1", "smoke").cells()
    store = ResultStore(tmp_path, create=True)
    store.set_meta(experiment="e1", preset="smoke")
    store.add_cells(cells)
    compact = lambda a: {"examples": 40, "accuracy": a, "has_op_accuracy": a, "no_op_accuracy": None,  # noqa: E731
                         "by_occurrences": {"1": a}, "per_rule": {"rules": 8, "mean": a, "quantiles": {}, "fully_correct_rules": 0}}
    for cell, accuracy in zip(cells, (0.0, 0.4, 0.95)):
        store.mark_done(cell.cell_id, {"unseen": compact(accuracy), "seen": compact(1.0), "wall_s": 1.0, "threads": 1,
                                       "diversity": {"vendi_ngram": 1 + 10 * accuracy},
                                       "train": {"steps": 10, "epochs": 1, "tokens_seen": 100, "final_loss": 0.5,
                                                 "elapsed_s": 2.0, "tokens_per_s": 50.0}})
    store.mark_failed(cells[0].cell_id + "x", "never added")  # an unknown id changes nothing
    store.close()
    (tmp_path / "experiment.json").write_text(json.dumps({"description": "a test", "report": {"kind": "e1"}}))
    page = write_report(tmp_path).read_text()
    assert 'data-status="shown"' in page and "0.00 at I = 2 and 0.95 at I = 20" in page
    assert '<img src="e1.png"' in page and (tmp_path / "report" / "e1.png").stat().st_size > 1000
    assert "Estimated threshold I*" in page and "All finished cells" in page and page.count("<tr>") >= 3 + 1 + 3
    assert "3 done, 0 failed" in page
    assert '<img src="e1-diversity.png"' in page and "10.500" in page  # the measured-diversity figure and column
